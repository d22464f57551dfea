import Dispatch
import FCSModels
import FCSTensor
import Foundation
import XCTest

/// OperationProfile on the tiny SD UNet (tools/make_tiny_models.py): each kind is counted once
/// per layer that runs it, and only on the recording thread.
final class OperationProfileTests: XCTestCase {
    private var fixtures: String { Bundle.module.resourcePath! + "/Fixtures/tiny-sd" }

    private func weightsFile() throws -> SafeTensorsFile {
        try SafeTensorsFile(path: fixtures + "/unet/diffusion_pytorch_model.safetensors")
    }

    private func unet(_ precision: WeightPrecision = .float32) throws -> UNet2DConditionModel {
        let config = try JSONDecoder().decode(UNet2DConditionModelConfig.self,
                                              from: Data(contentsOf: URL(fileURLWithPath: fixtures + "/unet/config.json")))
        return try UNet2DConditionModel(config: config, weights: WeightReader(file: try weightsFile()).storing(precision))
    }

    /// The calls one forward of the tiny UNet makes per kind, counted from its weight names:
    /// every layer in the file runs once per forward.
    private func expectedCalls() throws -> [OperationProfile.Kind: Int] {
        let file = try weightsFile()
        func count(_ predicate: (_ name: String, _ shape: [Int]) -> Bool) -> Int {
            file.names.filter { predicate($0, file.info($0)?.shape ?? []) }.count
        }
        func count(suffix: String) -> Int { count { name, _ in name.hasSuffix(suffix) } }
        let resnets = count(suffix: ".conv1.weight")
        let transformers = count(suffix: ".proj_in.weight")
        let blocks = count(suffix: ".attn1.to_q.weight")
        let upsamplers = count { name, _ in name.hasSuffix(".conv.weight") && name.contains("upsamplers") }
        let concatenations = count { name, _ in name.hasPrefix("up_blocks.") && name.hasSuffix(".conv1.weight") }
        let normName = try Regex(#"(^|\.)(norm\d?|conv_norm_out)\.weight$"#)
        return [
            .winogradConvolution: 0,  // its layers are narrower than Winograd's 16 channels
            .implicitGEMMConvolution: count { _, shape in shape.count == 4 && shape[2...] == [3, 3] },
            .pointwiseConvolution: count { _, shape in shape.count == 4 && shape[2...] == [1, 1] },
            .linear: count { _, shape in shape.count == 2 },
            .attention: blocks + count(suffix: ".attn2.to_q.weight"),
            .normalization: count { name, _ in name.contains(normName) },
            // time embedding SiLU; per resnet: SiLU(temb), + temb, + shortcut; per Transformer2DModel:
            // two transposes and the residual; per transformer block: three residuals and GEGLU;
            // nearest ×2 per upsampler; the skip concat before each up-block resnet
            .elementwise: 1 + 3 * resnets + 3 * transformers + 4 * blocks + upsamplers + concatenations,
        ]
    }

    private static func forward(_ unet: UNet2DConditionModel, in arena: ScratchArena) -> [Float] {
        var random = NormalGenerator(seed: 7)
        let sample = random.tensor([1, 4, 8, 8]), text = random.tensor([1, 77, 32])
        return arena.scope { unet(sample, timestep: 500, encoderHiddenStates: text, in: arena).toArray() }
    }

    private func calls(_ profile: OperationProfile) -> [OperationProfile.Kind: Int] {
        Dictionary(uniqueKeysWithValues: OperationProfile.Kind.allCases.map { ($0, profile[$0].calls) })
    }

    func test_unetForward_countsEveryKindOncePerLayer() throws {
        for precision in [WeightPrecision.float32, .float16, .bfloat16] {
            let unet = try unet(precision), arena = ScratchArena()
            let plain = Self.forward(unet, in: arena)
            let (recorded, profile) = OperationProfile.recording { Self.forward(unet, in: arena) }
            XCTAssertEqual(calls(profile), try expectedCalls(), "\(precision) weights")
            XCTAssertEqual(recorded, plain, "recording does not change the result")
        }
        XCTAssertEqual(try expectedCalls().filter { $0.value > 0 }.count, 6, "the tiny UNet runs every kind but Winograd")
    }

    func test_nothingIsRecorded_outsideARecordingOrOnOtherThreads() throws {
        let unet = try unet(), arena = ScratchArena()
        _ = Self.forward(unet, in: arena)
        XCTAssertEqual(calls(OperationProfile.recording {}.profile).values.reduce(0, +), 0,
                       "a forward before the recording left nothing in it")

        // Another thread runs forwards all through this thread's recording of one.
        let started = DispatchSemaphore(value: 0), stop = DispatchSemaphore(value: 0), stopped = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let otherArena = ScratchArena()
            _ = Self.forward(unet, in: otherArena)
            started.signal()
            repeat { _ = Self.forward(unet, in: otherArena) } while stop.wait(timeout: .now()) == .timedOut
            stopped.signal()
        }
        started.wait()
        let profile = OperationProfile.recording { Self.forward(unet, in: arena) }.profile
        stop.signal()
        stopped.wait()
        XCTAssertEqual(calls(profile), try expectedCalls())
    }

    func test_gemmKinds_countTheirFLOPs_andANestedRecordingAddsToTheOuterOne() {
        var random = NormalGenerator(seed: 1)
        let arena = ScratchArena()
        let winograd = Conv2d(weight: random.tensor([16, 16, 3, 3]), bias: nil, padding: 1, algorithm: .winograd)
        let implicit = Conv2d(weight: random.tensor([16, 16, 3, 3]), bias: nil, padding: 1, algorithm: .implicitGEMM)
        let pointwise = Conv2d(weight: random.tensor([16, 16, 1, 1]), bias: nil)
        let linear = Linear(weight: random.tensor([8, 16]), bias: random.tensor([8]))
        let x = random.tensor([1, 16, 8, 8]), tokens = random.tensor([1, 5, 16])
        let query = random.tensor([1, 6, 8]), key = random.tensor([1, 4, 8])
        let (inner, outer) = OperationProfile.recording {
            _ = winograd(x, in: arena)
            _ = scaledDotProductAttention(query: query, key: key, value: key, heads: 2, in: arena)
            return OperationProfile.recording {
                _ = implicit(x, in: arena)
                _ = pointwise(x, in: arena)
                _ = linear(tokens, in: arena)
            }.profile
        }
        XCTAssertEqual(calls(inner), [.winogradConvolution: 0, .implicitGEMMConvolution: 1, .pointwiseConvolution: 1, .linear: 1,
                                      .attention: 0, .normalization: 0, .elementwise: 0])
        XCTAssertEqual(calls(outer), [.winogradConvolution: 1, .implicitGEMMConvolution: 1, .pointwiseConvolution: 1, .linear: 1,
                                      .attention: 1, .normalization: 0, .elementwise: 0], "the inner recording counts in the outer one too")
        // 2 · out · in · 3 · 3 per output pixel, Winograd's counted as the direct convolution's
        XCTAssertEqual(outer[.winogradConvolution].flops, 2 * 16 * 16 * 9 * 64)
        XCTAssertEqual(outer[.implicitGEMMConvolution].flops, 2 * 16 * 16 * 9 * 64)
        XCTAssertEqual(inner[.pointwiseConvolution].flops, 2 * 16 * 16 * 64)
        XCTAssertEqual(inner[.linear].flops, 2 * 5 * 16 * 8)
        // q kᵀ and p v: 2 · 6 · 4 · 8 each
        XCTAssertEqual(outer[.attention].flops, 4 * 6 * 4 * 8)
    }
}
