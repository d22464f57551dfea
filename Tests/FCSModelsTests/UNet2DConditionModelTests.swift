import FCSModels
@testable import FCSTensor
import Foundation
import XCTest

/// UNet2DConditionModel against diffusers 0.42.1 on the tiny SD-shaped model (tools/make_tiny_models.py).
final class UNet2DConditionModelTests: XCTestCase {
    private var fixtures: String { Bundle.module.resourcePath! + "/Fixtures/tiny-sd" }

    private func config() throws -> UNet2DConditionModelConfig {
        try JSONDecoder().decode(UNet2DConditionModelConfig.self, from: Data(contentsOf: URL(fileURLWithPath: fixtures + "/unet/config.json")))
    }

    private func folderModel() throws -> UNet2DConditionModel {
        try UNet2DConditionModel(config: try config(), weights: WeightReader(
            file: try SafeTensorsFile(path: fixtures + "/unet/diffusion_pytorch_model.safetensors")))
    }

    private func maxError(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        return zip(a.toArray(), b.toArray()).map { abs($0 - $1) }.max() ?? .nan
    }

    func test_epsilon_matchesDiffusers() throws {
        let unet = try folderModel()
        let reference = try SafeTensorsFile(path: fixtures + "/reference.safetensors")
        let text = try reference.tensor("text_encoder.last_hidden_state")  // rows: "", prompt
        let arena = ScratchArena()
        for t in [999, 500, 0] {
            let one = unet(try reference.tensor("unet.sample"), timestep: Float(t),
                           encoderHiddenStates: text.slice(dim: 0, start: 1, length: 1).reshaped([1, 77, text.shape[2]]), in: arena)
            XCTAssertLessThanOrEqual(maxError(one, try reference.tensor("unet.t\(t).out")), 1e-4, "batch 1, t = \(t)")
            let two = unet(try reference.tensor("unet.b2.sample"), timestep: Float(t), encoderHiddenStates: text, in: arena)
            XCTAssertLessThanOrEqual(maxError(two, try reference.tensor("unet.b2.t\(t).out")), 1e-4, "batch 2, t = \(t)")
        }
        let mixed = unet(try reference.tensor("unet.b2.sample"), timesteps: try reference.tensor("unet.b2.tmix.timesteps").toArray(),
                         encoderHiddenStates: text, in: arena)
        XCTAssertLessThanOrEqual(maxError(mixed, try reference.tensor("unet.b2.tmix.out")), 1e-4, "per-sample timesteps")
    }

    func test_singleFile_givesTheSameEpsilonAsTheFolder() throws {
        let config = try config()
        let single = try UNet2DConditionModel(config: config, weights: SingleFileCheckpoint.weights(
            try SafeTensorsFile(path: fixtures + "/tiny-sd.safetensors"), component: .unet, layersPerBlock: config.layersPerBlock))
        let reference = try SafeTensorsFile(path: fixtures + "/reference.safetensors")
        let sample = try reference.tensor("unet.b2.sample"), text = try reference.tensor("text_encoder.last_hidden_state")
        let arena = ScratchArena()
        XCTAssertEqual(single(sample, timestep: 500, encoderHiddenStates: text, in: arena).toArray(),
                       try folderModel()(sample, timestep: 500, encoderHiddenStates: text, in: arena).toArray())
    }

    /// A per-level transformer depth (tools/make_tiny_unet_levels.py: [1, 2, 3, 1]): up blocks mirror
    /// it and the mid block takes its last entry, as diffusers builds them.
    func test_perLevelTransformerDepth_matchesDiffusers() throws {
        let folder = Bundle.module.resourcePath! + "/Fixtures/tiny-unet-levels"
        let config = try JSONDecoder().decode(UNet2DConditionModelConfig.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/config.json")))
        XCTAssertEqual(config.transformerLayersPerBlock, [1, 2, 3, 1])
        let weights = WeightReader(file: try SafeTensorsFile(path: folder + "/diffusion_pytorch_model.safetensors"))
        let unet = try UNet2DConditionModel(config: config, weights: weights)
        XCTAssertEqual(weights.unreadTensors(), [])
        let reference = try SafeTensorsFile(path: folder + "/reference.safetensors"), arena = ScratchArena()
        for t in [999, 0] {
            let out = unet(try reference.tensor("sample"), timestep: Float(t), encoderHiddenStates: try reference.tensor("text"), in: arena)
            XCTAssertLessThanOrEqual(maxError(out, try reference.tensor("t\(t).out")), 1e-4, "t = \(t)")
        }
        var flat = config
        flat.transformerLayersPerBlock = [1]  // the file's extra blocks are then left over
        let reader = WeightReader(file: try SafeTensorsFile(path: folder + "/diffusion_pytorch_model.safetensors"))
        _ = try UNet2DConditionModel(config: flat, weights: reader)
        XCTAssertFalse(reader.unreadTensors().isEmpty)
    }

    /// An LCM-shaped UNet (time_cond_proj_dim) with the guidance-scale embedding as timestep_cond
    /// (tools/make_tiny_lcm_unet.py).
    func test_lcmUNet_withTheGuidanceScaleEmbedding_matchesDiffusers() throws {
        let folder = Bundle.module.resourcePath! + "/Fixtures/tiny-lcm-unet"
        let config = try JSONDecoder().decode(UNet2DConditionModelConfig.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/config.json")))
        XCTAssertEqual(config.timeCondProjDim, 16)
        let weights = WeightReader(file: try SafeTensorsFile(path: folder + "/diffusion_pytorch_model.safetensors"))
        let unet = try UNet2DConditionModel(config: config, weights: weights)
        XCTAssertEqual(weights.unreadTensors(), [], "cond_proj is read")
        let reference = try SafeTensorsFile(path: folder + "/reference.safetensors")
        let sample = try reference.tensor("sample"), text = try reference.tensor("text")
        let arena = ScratchArena()
        for w in [Float(0), 7.5] {
            let embedding = guidanceScaleEmbedding([w], embeddingDim: 16)
            // sin/cos of float32 arguments up to 7500 (ulp 5e-4) and exp computed in another order
            XCTAssertLessThanOrEqual(maxError(embedding, try reference.tensor("w\(w).embedding")), 1e-4, "embedding of w = \(w)")
            for t in [999, 259, 0] {
                // the embedding's own error (up to 1e-4, above) goes through the network
                let out = unet(sample, timestep: Float(t), encoderHiddenStates: text, timestepCond: embedding, in: arena)
                XCTAssertLessThanOrEqual(maxError(out, try reference.tensor("w\(w).t\(t).out")), 2e-4, "w = \(w), t = \(t)")
            }
        }
        for t in [999, 259, 0] {
            let plain = unet(sample, timestep: Float(t), encoderHiddenStates: text, in: arena)
            XCTAssertLessThanOrEqual(maxError(plain, try reference.tensor("t\(t).plain.out")), 1e-4, "no timestep_cond, t = \(t)")
        }
        var broken = config
        broken.timeCondProjDim = 0
        XCTAssertThrowsError(try UNet2DConditionModel(config: broken, weights: weights))
        broken.timeCondProjDim = 8  // cond_proj is [320, 16] in the file
        XCTAssertThrowsError(try UNet2DConditionModel(config: broken, weights: weights))
    }

    func test_defaults_areSD15() throws {
        let config = try JSONDecoder().decode(UNet2DConditionModelConfig.self, from: Data("{}".utf8))
        XCTAssertEqual(config, UNet2DConditionModelConfig())
        XCTAssertEqual(config.blockOutChannels, [320, 640, 1280, 1280])
        XCTAssertEqual(config.crossAttentionDim, 768)
    }

    func test_unsupportedBlockType_isAClearError() throws {
        var config = try config()
        config.downBlockTypes[0] = "SimpleCrossAttnDownBlock2D"
        XCTAssertThrowsError(try UNet2DConditionModel(config: config, weights: WeightReader(
            file: try SafeTensorsFile(path: fixtures + "/unet/diffusion_pytorch_model.safetensors")))) {
            XCTAssertTrue("\($0)".contains("SimpleCrossAttnDownBlock2D"), "\($0)")
        }
    }
}

extension UNet2DConditionModelTests {
    /// The benchmarks build full-size models this way; the tiny config keeps the test cheap.
    func test_randomWeights_areSeededAndGiveAFiniteForward() throws {
        let config = try config()
        let a = try UNet2DConditionModel(config: config, weights: .random(seed: 7))
        let b = try UNet2DConditionModel(config: config, weights: .random(seed: 7))
        var random = NormalGenerator(seed: 1)
        let sample = random.tensor([1, 4, 8, 8]), text = random.tensor([1, 77, config.crossAttentionDim])
        let arena = ScratchArena()
        let out = a(sample, timestep: 10, encoderHiddenStates: text, in: arena).toArray()
        XCTAssertTrue(out.allSatisfy(\.isFinite))
        XCTAssertEqual(out, b(sample, timestep: 10, encoderHiddenStates: text, in: arena).toArray())
    }
}

extension UNet2DConditionModelTests {
    /// float16-stored weights: the same network up to float16 rounding of the weights.
    func test_float16StoredWeights_stayCloseToFloat32() throws {
        let weights = WeightReader(file: try SafeTensorsFile(path: fixtures + "/unet/diffusion_pytorch_model.safetensors"))
        let half = try UNet2DConditionModel(config: try config(), weights: weights.storing(.float16))
        let reference = try SafeTensorsFile(path: fixtures + "/reference.safetensors")
        let out = half(try reference.tensor("unet.b2.sample"), timestep: 500,
                       encoderHiddenStates: try reference.tensor("text_encoder.last_hidden_state"), in: ScratchArena())
        let expected = try reference.tensor("unet.b2.t500.out")
        let error = maxError(out, expected), scale = expected.toArray().map(abs).max()!
        XCTAssertLessThanOrEqual(error, 1e-2 * scale)
        XCTAssertGreaterThan(error, 0, "float16 storage should round the weights")
    }
}

extension UNet2DConditionModelTests {
    /// Under a difference tape the bf16 UNet keeps none of its transformer blocks' LayerNorm
    /// outputs, feed-forward hidden states or `proj_out` inputs — 7 operations per
    /// Transformer2DModel, 16 of them in the SD 1.5-shaped fixture — nor its resnets' conv2
    /// inputs (22 ResnetBlock2Ds), yet replaying the recorded
    /// input gives the recorded ε bit for bit, and the differences it replays are free of bf16
    /// rounding noise: twice the perturbation gives twice the difference (measured 1.5 % off, where
    /// float32 forwards are 1.0 % off from this fixture's curvature), while two plain bf16 forwards
    /// differ mostly by noise (99 % off).
    func test_bfloat16DifferenceTape_derivesTheTransformerInputs() throws {
        let weights = WeightReader(file: try SafeTensorsFile(path: fixtures + "/unet/diffusion_pytorch_model.safetensors"))
        let unet = try UNet2DConditionModel(config: try config(), weights: weights.storing(.bfloat16))
        let reference = try SafeTensorsFile(path: fixtures + "/reference.safetensors")
        let text = try reference.tensor("text_encoder.last_hidden_state").slice(dim: 0, start: 1, length: 1).reshaped([1, 77, 32])
        let x = try reference.tensor("unet.sample")
        var random = NormalGenerator(seed: 3)
        let direction = random.tensor(x.shape, scale: 0.0005).toArray()
        func moved(_ scale: Float) -> Tensor { Tensor(shape: x.shape, values: zip(x.toArray(), direction).map { $0 + scale * $1 }) }
        let arena = ScratchArena(), tape = DifferenceTape()
        func epsilon(_ sample: Tensor) -> [Float] {
            arena.scope { unet(sample, timestep: 500, encoderHiddenStates: text, in: arena).toArray() }
        }
        /// ‖d(2δ) − 2 d(δ)‖ / ‖2 d(δ)‖ for differences d from the base forward.
        func nonlinearity(_ difference: (Float) -> [Float]) -> Float {
            let one = difference(1).map { 2 * $0 }, two = difference(2)
            let error = zip(two, one).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
            return error / one.map { $0 * $0 }.reduce(0, +).squareRoot()
        }
        arena.differenceTape = tape
        tape.beginRecording()
        let recorded = epsilon(x)
        tape.beginReplay()
        XCTAssertEqual(epsilon(x), recorded, "replaying the recorded input gives the recorded output")
        XCTAssertEqual(tape.derivedInputs, 16 * 7 + 22)
        let taped = nonlinearity { scale in
            tape.beginReplay()
            return zip(epsilon(moved(scale)), recorded).map { $0 - $1 }
        }
        arena.differenceTape = nil
        let plain = nonlinearity { scale in zip(epsilon(moved(scale)), epsilon(x)).map { $0 - $1 } }
        XCTAssertLessThan(taped, 0.05, "the taped differences scale with the perturbation")
        XCTAssertGreaterThan(plain, 0.5, "plain bf16 differences should be noisy")
    }
}
