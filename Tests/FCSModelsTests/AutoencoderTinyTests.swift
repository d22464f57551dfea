import FCSModels
import FCSTensor
import Foundation
import XCTest

/// AutoencoderTiny against diffusers 0.42.1 on the tiny TAESD of tools/make_tiny_taesd.py.
final class AutoencoderTinyTests: XCTestCase {
    private var fixtures: String { Bundle.module.resourcePath! + "/Fixtures/tiny-taesd" }

    private func maxError(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        return zip(a.toArray(), b.toArray()).map { abs($0 - $1) }.max() ?? .nan
    }

    /// A copy of the fixture folder whose config.json is `edit` applied to the fixture's.
    private func folder(editingConfig edit: (inout [String: Any]) -> Void) throws -> String {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-taesd-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: fixtures), to: copy)
        addTeardownBlock { try? FileManager.default.removeItem(at: copy) }
        let configURL = copy.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as! [String: Any]
        edit(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        return copy.path
    }

    func test_encodeAndDecode_matchDiffusers_inBothVariants() throws {
        let reference = try SafeTensorsFile(path: fixtures + "/reference.safetensors")
        for variant in [StableDiffusion.Variant.fp32, .fp16] {
            let taesd = try AutoencoderTiny.load(fixtures, variant: variant)
            let arena = ScratchArena()
            XCTAssertLessThanOrEqual(maxError(taesd.encode(try reference.tensor("enc.image"), in: arena), try reference.tensor("enc.latents")),
                                     1e-4, "encoder, \(variant)")
            XCTAssertLessThanOrEqual(maxError(taesd.decode(try reference.tensor("dec.latents"), in: arena), try reference.tensor("dec.out")),
                                     1e-4, "decoder, \(variant)")
        }
    }

    func test_float16Storage_staysClose() throws {
        let reference = try SafeTensorsFile(path: fixtures + "/reference.safetensors")
        let taesd = try AutoencoderTiny.load(fixtures, precision: .float16)
        XCTAssertLessThanOrEqual(maxError(taesd.decode(try reference.tensor("dec.latents"), in: ScratchArena()),
                                          try reference.tensor("dec.out")), 1e-2, "Winograd-transformed weights rounded to half")
    }

    func test_bfloat16Compute_staysClose() throws {
        let reference = try SafeTensorsFile(path: fixtures + "/reference.safetensors")
        let expected = try reference.tensor("dec.out").toArray()
        for (compute, low, high) in [(ComputePrecision.automatic, 0, 1e-5), (.bfloat16, 1e-4, 2e-2)] as [(ComputePrecision, Double, Double)] {
            let taesd = try AutoencoderTiny.load(fixtures, compute: compute)
            let out = taesd.decode(try reference.tensor("dec.latents"), in: ScratchArena()).toArray()
            let difference = zip(out, expected).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +)
            let error = (difference / expected.map { Double($0) * Double($0) }.reduce(0, +)).squareRoot()
            XCTAssertTrue(error >= low && error <= high, "\(compute): relative error \(error) is not in [\(low), \(high)]")
        }
    }

    func test_defaults_areTAESD() throws {
        let config = try JSONDecoder().decode(AutoencoderTinyConfig.self, from: Data("{}".utf8))
        XCTAssertEqual(config, AutoencoderTinyConfig())
        XCTAssertEqual(config.numEncoderBlocks, [1, 3, 3, 3])
        XCTAssertEqual(config.numDecoderBlocks, [3, 3, 3, 1])
        XCTAssertEqual(config.scalingFactor, 1)
        XCTAssertEqual(config.encoderDownsamplingFactor, 8)
        XCTAssertEqual(config.decoderUpsamplingFactor, 8)
    }

    func test_badConfigValues_nameTheFileAndField() throws {
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("_class_name", { $0["_class_name"] = "AutoencoderKL" }),
            ("encoder_block_out_channels[2]", { $0["encoder_block_out_channels"] = [16, 16, 32, 16] }),
            ("num_decoder_blocks", { $0["num_decoder_blocks"] = [1, 1, 2] }),
            ("num_encoder_blocks[1]", { $0["num_encoder_blocks"] = [1, -2, 1, 1] }),
            ("decoder_block_out_channels[0]", { $0["decoder_block_out_channels"] = [0, 0, 0, 0] }),
            ("act_fn", { $0["act_fn"] = "mish" }),
            ("upsample_fn", { $0["upsample_fn"] = "bilinear" }),
            ("upsampling_scaling_factor", { $0["upsampling_scaling_factor"] = 3 }),
            ("latent_channels", { $0["latent_channels"] = 1_000_000 }),
            ("latent_magnitude", { $0["latent_magnitude"] = 0 }),
            ("scaling_factor", { $0["scaling_factor"] = -1 }),
            ("shift_factor", { $0["shift_factor"] = 0.1159 }),
            ("in_channels", { $0["in_channels"] = 2.5 }),
        ]
        for (field, edit) in cases {
            let path = try folder(editingConfig: edit)
            XCTAssertThrowsError(try AutoencoderTiny.load(path)) {
                let message = "\($0)"
                XCTAssertTrue(message.contains(path + "/config.json") && message.contains(field), "\(field): \(message)")
            }
        }
    }

    func test_weightsThatDoNotFitTheConfig_nameTheTensor() throws {
        // one block fewer: the file has tensors the config has no place for
        let fewer = try folder { $0["num_encoder_blocks"] = [1, 2, 1, 0] }
        XCTAssertThrowsError(try AutoencoderTiny.load(fewer)) { XCTAssertTrue("\($0)".contains("encoder.layers."), "\($0)") }
        // one more: a tensor is missing
        let more = try folder { $0["num_decoder_blocks"] = [2, 1, 2, 1] }
        XCTAssertThrowsError(try AutoencoderTiny.load(more)) { XCTAssertTrue("\($0)".contains("missing tensor decoder.layers."), "\($0)") }
        let wider = try folder { $0["latent_channels"] = 8 }
        XCTAssertThrowsError(try AutoencoderTiny.load(wider)) { XCTAssertTrue("\($0)".contains("has shape"), "\($0)") }
    }

    func test_missingFolderOrWeights_isAnIOError() throws {
        XCTAssertThrowsError(try AutoencoderTiny.load("/nonexistent/taesd")) { XCTAssertEqual(($0 as? FCSError)?.code, .io, "\($0)") }
        let noWeights = try folder { _ in }
        for name in ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"] {
            try FileManager.default.removeItem(atPath: noWeights + "/" + name)
        }
        XCTAssertThrowsError(try AutoencoderTiny.load(noWeights)) {
            XCTAssertEqual(($0 as? FCSError)?.code, .io, "\($0)")
            XCTAssertTrue("\($0)".contains(noWeights), "\($0)")
        }
    }
}
