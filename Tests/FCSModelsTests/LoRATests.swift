@testable import FCSModels
import FCSTensor
import Foundation
import XCTest

/// LoRA files merged at load against diffusers 0.42.1 + peft 0.21.2 `load_lora_weights` +
/// `fuse_lora` (tools/make_tiny_lora.py), and the files fcs refuses.
///
/// Tolerance: the largest difference from diffusers' output is at most 1e-5 of the output's
/// scale, its largest absolute value (`relativeError`).
final class LoRATests: XCTestCase {
    private var tinySD: String { Bundle.module.resourcePath! + "/Fixtures/tiny-sd" }
    private var tinyLoRA: String { Bundle.module.resourcePath! + "/Fixtures/tiny-lora" }
    private var temporary: URL!

    override func setUpWithError() throws {
        temporary = FileManager.default.temporaryDirectory.appendingPathComponent("fcs-lora-\(UUID())")
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temporary) }

    private func load(_ loras: [(String, Float)], from model: String? = nil, configFolder: String? = nil) throws -> StableDiffusion {
        var options = StableDiffusion.LoadOptions(compute: .float32)
        options.loras = loras.map { LoRAReference(path: tinyLoRA + "/" + $0.0, scale: $0.1) }
        options.configFolder = configFolder
        return try StableDiffusion.load(model ?? tinySD, options: options)
    }

    /// max |a − b| / max |b|.
    private func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        let (x, y) = (a.toArray(), b.toArray())
        return zip(x, y).map { abs($0 - $1) }.max()! / y.map(abs).max()!
    }

    /// The UNet's ε and the text encoder's hidden states at the reference inputs, against
    /// `<name>.unet.out` and `<name>.text_encoder.last_hidden_state`.
    private func assertMatchesDiffusers(_ model: StableDiffusion, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let inputs = try SafeTensorsFile(path: tinySD + "/reference.safetensors")
        let reference = try SafeTensorsFile(path: tinyLoRA + "/reference.safetensors")
        let arena = ScratchArena()
        let ids = try inputs.tensor("text_encoder.input_ids")
        let rows = (0..<2).map { b in (0..<77).map { Int32(ids.data[b * 77 + $0]) } }
        let text = try model.textEncoder(rows, in: arena)
        XCTAssertLessThanOrEqual(relativeError(text, try reference.tensor("\(name).text_encoder.last_hidden_state")), 1e-5,
                                 "\(name): text encoder", file: file, line: line)
        let eps = model.unet(try inputs.tensor("unet.b2.sample"), timestep: 500,
                             encoderHiddenStates: try inputs.tensor("text_encoder.last_hidden_state"), in: arena)
        XCTAssertLessThanOrEqual(relativeError(eps, try reference.tensor("\(name).unet.out")), 1e-5, "\(name): UNet", file: file, line: line)
    }

    func test_peftLoRA_matchesDiffusersFuseLora() throws {
        try assertMatchesDiffusers(try load([("peft.safetensors", 0.7)]), "peft")
    }

    func test_kohyaLoRA_withConvLayers_matchesDiffusersFuseLora() throws {
        try assertMatchesDiffusers(try load([("kohya.safetensors", 1.3)]), "kohya")
    }

    func test_twoLoRAs_matchDiffusersSetAdapters() throws {
        try assertMatchesDiffusers(try load([("peft.safetensors", 0.7), ("kohya.safetensors", 1.3)]), "both")
    }

    func test_singleFileCheckpoint_takesLoRAsLikeTheFolder() throws {
        try assertMatchesDiffusers(try load([("peft.safetensors", 0.7), ("kohya.safetensors", 1.3)],
                                            from: tinySD + "/tiny-sd.safetensors", configFolder: tinySD), "both")
    }

    func test_float16Storage_mergesBeforePacking() throws {
        var options = StableDiffusion.LoadOptions(compute: .float32)
        options.loras = [LoRAReference(path: tinyLoRA + "/kohya.safetensors", scale: 1.3)]
        options.precision = .float16
        let half = try StableDiffusion.load(tinySD, options: options)
        let inputs = try SafeTensorsFile(path: tinySD + "/reference.safetensors")
        let eps = half.unet(try inputs.tensor("unet.b2.sample"), timestep: 500,
                            encoderHiddenStates: try inputs.tensor("text_encoder.last_hidden_state"), in: ScratchArena())
        let reference = try SafeTensorsFile(path: tinyLoRA + "/reference.safetensors")
        // float16 rounding of the merged weights (the base model alone is ~1e-2 off in float16);
        // the LoRA itself moves ε by far more
        XCTAssertLessThanOrEqual(relativeError(eps, try reference.tensor("kohya.unet.out")), 2e-2)
        XCTAssertGreaterThan(relativeError(try inputs.tensor("unet.b2.t500.out"), try reference.tensor("kohya.unet.out")), 0.2)
    }

    func test_float16Files_mergeIntoTheConvertedWeightsInPlace() throws {
        // the same weights twice: as the fp16 file (converted tensors, merged in place) and widened
        // into an fp32 file (mapped tensors, merged into a copy); the merged models must agree exactly
        let half = temporary.appendingPathComponent("half").path, widened = temporary.appendingPathComponent("widened").path
        for folder in [half, widened] { try FileManager.default.copyItem(atPath: tinySD, toPath: folder) }
        try FileManager.default.removeItem(atPath: half + "/unet/diffusion_pytorch_model.safetensors")
        let fp16 = try SafeTensorsFile(path: half + "/unet/diffusion_pytorch_model.fp16.safetensors")
        try SafeTensorsWriter.write(Dictionary(uniqueKeysWithValues: try fp16.names.map { ($0, try fp16.tensor($0)) }),
                                    to: widened + "/unet/diffusion_pytorch_model.safetensors")
        let inputs = try SafeTensorsFile(path: tinySD + "/reference.safetensors")
        func epsilon(_ folder: String) throws -> Tensor {
            try load([("peft.safetensors", 0.7), ("kohya.safetensors", 1.3)], from: folder).unet(
                try inputs.tensor("unet.b2.sample"), timestep: 500, encoderHiddenStates: try inputs.tensor("text_encoder.last_hidden_state"),
                in: ScratchArena())
        }
        let eps = try epsilon(half)
        XCTAssertEqual(eps.toArray(), try epsilon(widened).toArray())
        let reference = try SafeTensorsFile(path: tinyLoRA + "/reference.safetensors")
        XCTAssertLessThanOrEqual(relativeError(eps, try reference.tensor("both.unet.out")), 5e-2)  // the fp16 file's rounding
    }

    func test_scaleZero_isTheBaseModel() throws {
        let inputs = try SafeTensorsFile(path: tinySD + "/reference.safetensors")
        let eps = try load([("kohya.safetensors", 0)]).unet(
            try inputs.tensor("unet.b2.sample"), timestep: 500, encoderHiddenStates: try inputs.tensor("text_encoder.last_hidden_state"),
            in: ScratchArena())
        XCTAssertLessThanOrEqual(relativeError(eps, try inputs.tensor("unet.b2.t500.out")), 1e-4)
    }

    // MARK: key names

    func test_keyNames_ofEveryFormat_reduceToTheModule() {
        let toQ = LoRAKey.Module(.unet, diffusersName: "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q")
        for key in ["lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight",
                    "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight",
                    "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora.down.weight",
                    "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q_lora.down.weight"] {
            XCTAssertEqual(LoRAKey(key)?.module, toQ, key)
            XCTAssertEqual(LoRAKey(key)?.role, .down, key)
        }
        XCTAssertEqual(LoRAKey("unet.mid_block.attentions.0.transformer_blocks.0.attn2.processor.to_out_lora.up.weight")?.module,
                       LoRAKey.Module(.unet, diffusersName: "mid_block.attentions.0.transformer_blocks.0.attn2.to_out.0"))
        let fc1 = LoRAKey.Module(.textEncoder, diffusersName: "text_model.encoder.layers.3.mlp.fc1")
        for key in ["lora_te_text_model_encoder_layers_3_mlp_fc1.alpha", "text_encoder.text_model.encoder.layers.3.mlp.fc1.alpha",
                    "text_encoder.encoder.layers.3.mlp.fc1.alpha"] {
            XCTAssertEqual(LoRAKey(key)?.module, fc1, key)
            XCTAssertEqual(LoRAKey(key)?.role, .alpha, key)
        }
        XCTAssertEqual(LoRAKey("text_encoder.text_model.encoder.layers.3.mlp.fc1.lora_linear_layer.up.weight")?.module, fc1)
        XCTAssertEqual(LoRAKey("text_encoder.text_model.encoder.layers.0.self_attn.to_out_lora.up.weight")?.module,
                       LoRAKey.Module(.textEncoder, diffusersName: "encoder.layers.0.self_attn.out_proj"))
        for key in ["lora_unet_x.lora_mid.weight", "lora_unet_.lora_down.weight", "vae.decoder.conv_in.lora_A.weight",
                    "unet.lora_A.weight", "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", "unet.conv_in.weight"] {
            XCTAssertNil(LoRAKey(key), key)
        }
    }

    // MARK: refusals

    private func writeLoRA(_ tensors: [String: Tensor], name: String = "bad.safetensors") throws -> String {
        let path = temporary.appendingPathComponent(name).path
        try SafeTensorsWriter.write(tensors, to: path)
        return path
    }

    private func assertLoadFails(_ path: String, mentioning words: [String], file: StaticString = #filePath, line: UInt = #line) {
        var options = StableDiffusion.LoadOptions(compute: .float32)
        options.loras = [LoRAReference(path: tinyLoRA + "/peft.safetensors"), LoRAReference(path: path)]
        XCTAssertThrowsError(try StableDiffusion.load(tinySD, options: options), file: file, line: line) {
            let message = "\($0)"
            XCTAssertEqual(($0 as? FCSError)?.code, .format, message, file: file, line: line)
            XCTAssertFalse(message.contains("\n"), message, file: file, line: line)
            for word in [path] + words { XCTAssertTrue(message.contains(word), "\(message) lacks \(word)", file: file, line: line) }
        }
    }

    func test_keyThatLandsNowhere_failsNamingIt() throws {
        let key = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn9_to_q"
        let path = try writeLoRA([key + ".lora_down.weight": Tensor(zeros: [2, 4]), key + ".lora_up.weight": Tensor(zeros: [4, 2]),
                                  "lora_unet_conv_in.lora_down.weight": Tensor(zeros: [2, 4, 3, 3]),
                                  "lora_unet_conv_in.lora_up.weight": Tensor(zeros: [4, 2, 1, 1])])
        assertLoadFails(path, mentioning: [key + ".lora_down.weight", "lands on no module"])
        let embedding = try writeLoRA(["unet.conv_in.lora_A.weight": Tensor(zeros: [2, 4, 3, 3]),
                                 "unet.conv_in.lora_B.weight": Tensor(zeros: [4, 2, 1, 1]),
                                 "text_encoder.text_model.embeddings.position_embedding.lora_A.weight": Tensor(zeros: [1, 77]),
                                 "text_encoder.text_model.embeddings.position_embedding.lora_B.weight": Tensor(zeros: [32, 1])],
                                name: "embedding.safetensors")
        assertLoadFails(embedding, mentioning: ["position_embedding.lora_A.weight", "shape"])
    }

    func test_truncatedFile_isACleanError() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: tinyLoRA + "/kohya.safetensors"))
        for cut in [4, 100, bytes.count / 2, bytes.count - 1] {
            let path = temporary.appendingPathComponent("cut\(cut).safetensors").path
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: path))
            assertLoadFails(path, mentioning: [])
        }
    }

    func test_malformedLoRAs_failNamingTheKey() throws {
        let module = "lora_unet_down_blocks_0_attentions_0_proj_in"
        let wrongShape = try writeLoRA([module + ".lora_down.weight": Tensor(zeros: [2, 4, 1, 1]),
                                        module + ".lora_up.weight": Tensor(zeros: [5, 2, 1, 1])], name: "shape.safetensors")
        assertLoadFails(wrongShape, mentioning: [module + ".lora_down.weight", "shape"])
        let rankMismatch = try writeLoRA([module + ".lora_down.weight": Tensor(zeros: [2, 4]),
                                          module + ".lora_up.weight": Tensor(zeros: [4, 3])], name: "rank.safetensors")
        assertLoadFails(rankMismatch, mentioning: [module + ".lora_up.weight"])
        let noUp = try writeLoRA([module + ".lora_down.weight": Tensor(zeros: [2, 4]), module + ".alpha": Tensor(shape: [], values: [1])],
                                 name: "noup.safetensors")
        assertLoadFails(noUp, mentioning: [module + ".lora_down.weight", "up"])
        let dora = try writeLoRA([module + ".lora_down.weight": Tensor(zeros: [2, 4]), module + ".lora_up.weight": Tensor(zeros: [4, 2]),
                                  module + ".dora_scale": Tensor(zeros: [4, 1])], name: "dora.safetensors")
        assertLoadFails(dora, mentioning: [module + ".dora_scale", "DoRA"])
        let badAlpha = try writeLoRA([module + ".lora_down.weight": Tensor(zeros: [2, 4]), module + ".lora_up.weight": Tensor(zeros: [4, 2]),
                                      module + ".alpha": Tensor(shape: [], values: [.nan])], name: "alpha.safetensors")
        assertLoadFails(badAlpha, mentioning: [module + ".alpha"])
        assertLoadFails(try writeLoRA([:], name: "empty.safetensors"), mentioning: ["no LoRA"])
    }

    func test_missingFileAndBadScale_areErrors() {
        var options = StableDiffusion.LoadOptions(compute: .float32)
        options.loras = [LoRAReference(path: temporary.path + "/absent.safetensors")]
        XCTAssertThrowsError(try StableDiffusion.load(tinySD, options: options)) {
            XCTAssertEqual(($0 as? FCSError)?.code, .io)
            XCTAssertTrue("\($0)".contains("absent.safetensors"), "\($0)")
        }
        options.loras = [LoRAReference(path: tinyLoRA + "/peft.safetensors", scale: .infinity)]
        XCTAssertThrowsError(try StableDiffusion.load(tinySD, options: options)) {
            XCTAssertEqual(($0 as? FCSError)?.code, .invalidArgument)
        }
    }
}
