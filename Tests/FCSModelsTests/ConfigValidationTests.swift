@testable import FCSModels
import FCSTensor
import Foundation
import XCTest

/// Corrupt config.json values in copies of the tiny fixtures: each is an FCSError naming the file
/// and the field, never a trap (before validation, a zero group or head count killed the process
/// inside GroupNorm or attention).
final class ConfigValidationTests: TemporaryFolderTestCase {
    private var fixtures: String { Bundle.module.resourcePath! + "/Fixtures" }

    /// One corruption: `field` set to the JSON text `value` (`nil` removes the field); the
    /// error must name `field` (or `expected`, when another field is the one at fault).
    private struct Case {
        let field: String
        let value: String?
        var expected: String?
        init(_ field: String, _ value: String?, names expected: String? = nil) {
            (self.field, self.value, self.expected) = (field, value, expected)
        }
    }

    /// Values every size field must refuse: zero, negative, absurdly large (before any
    /// allocation), fractional, NaN, and the wrong JSON types. `[4]` is a valid value of the
    /// fields that take a list.
    private func badSizes(_ field: String, takesList: Bool = false) -> [Case] {
        (["0", "-4", "1000000000", "1e30", "2.5", "NaN", "\"4\"", "{}", "true"] + (takesList ? [] : ["[4]"])).map { Case(field, $0) }
    }

    /// Values every eps or scale factor must refuse.
    private func badPositiveFloats(_ field: String) -> [Case] {
        ["0", "-1e-5", "NaN", "Infinity", "-Infinity", "\"1e-5\"", "[1e-5]"].map { Case(field, $0) }
    }

    func test_unetConfig_corruptValues_areErrorsNamingTheField() throws {
        var cases = badSizes("norm_num_groups") + badSizes("layers_per_block") + badSizes("in_channels")
            + badSizes("out_channels") + badSizes("sample_size") + badSizes("cross_attention_dim", takesList: true)
            + badSizes("attention_head_dim", takesList: true) + badSizes("transformer_layers_per_block", takesList: true)
            + badPositiveFloats("norm_eps") + badPositiveFloats("mid_block_scale_factor")
        cases += [
            Case("norm_num_groups", "3"),                  // does not divide 4 channels
            Case("norm_num_groups", "8"),                  // divides 8 and not 4
            Case("norm_num_groups", "null", names: "norm_num_groups"),  // the default, 32, divides nothing here
            Case("attention_head_dim", "3"),               // 3 heads do not split 4 channels
            Case("attention_head_dim", "[2, 2]"),          // shorter than the 4 blocks
            Case("attention_head_dim", "[2, 2, 2, 2, 2]"),
            Case("attention_head_dim", "[2, 2, 0, 2]"),
            Case("attention_head_dim", "[]"),
            Case("num_attention_heads", "5"),
            Case("num_attention_heads", "[1, 2]"),
            Case("block_out_channels", "[]"),
            Case("block_out_channels", "[4, 8, 12]", names: "down_block_types"),
            Case("block_out_channels", "[4, 8, 12, 0]"),
            Case("block_out_channels", "[4, 8, 12, -12]"),
            Case("block_out_channels", "[4, 8, 12, 1000000000]"),
            Case("block_out_channels", "[4, 8, 12.5, 12]"),
            Case("block_out_channels", "[4, 8, 12, 12, 12, 12, 12, 12, 12]"),
            Case("block_out_channels", "4"),
            Case("block_out_channels", "\"4, 8\""),
            Case("down_block_types", "[\"CrossAttnDownBlock2D\", \"DownBlock2D\"]"),
            Case("down_block_types", "[\"CrossAttnDownBlock2D\", \"CrossAttnDownBlock2D\", \"SkipDownBlock2D\", \"DownBlock2D\"]"),
            Case("down_block_types", "[1, 2, 3, 4]"),
            Case("up_block_types", "[\"UpBlock2D\"]"),
            Case("up_block_types", "[\"UpBlock2D\", \"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\", \"AttnUpBlock2D\"]"),
            Case("up_block_types", "\"UpBlock2D\""),
            Case("mid_block_type", "\"UNetMidBlock2DSimpleCrossAttn\""),
            Case("act_fn", "\"gelu\""),
            Case("act_fn", "7"),
            Case("cross_attention_dim", "[32, 32]"),
            Case("cross_attention_dim", "[32, 32, 64, 32]"),
            Case("transformer_layers_per_block", "[1, 1]"),
            Case("transformer_layers_per_block", "[1, 2, 0, 1]"),
            Case("reverse_transformer_layers_per_block", "[[1, 1], [1, 1], [1, 1], [1, 1]]"),
            Case("sample_size", "7"),                      // does not halve through 4 blocks
            Case("downsample_padding", "2"),
            Case("downsample_padding", "-1"),
            Case("freq_shift", "NaN"),
            Case("flip_sin_to_cos", "\"yes\""),
            Case("use_linear_projection", "1"),
        ]
        try assertEachRefused(cases, folder: "tiny-sd", config: "unet/config.json") { (folder: String) throws(FCSError) in
            let _: UNet2DConditionModelConfig = try decodeConfig(folder + "/unet/config.json")
        }
    }

    func test_vaeConfig_corruptValues_areErrorsNamingTheField() throws {
        var cases = badSizes("norm_num_groups") + badSizes("layers_per_block") + badSizes("in_channels")
            + badSizes("out_channels") + badSizes("latent_channels") + badSizes("sample_size")
            + badPositiveFloats("scaling_factor")
        cases += [
            Case("norm_num_groups", "3"),
            Case("norm_num_groups", "8"),                  // divides 8 and 16, not 12
            Case("block_out_channels", "[]"),
            Case("block_out_channels", "[8, 12, 16]", names: "down_block_types"),
            Case("block_out_channels", "[8, 12, 16, 0]"),
            Case("block_out_channels", "[8, 12, 16, 1000000000]"),
            Case("block_out_channels", "[8, 12, 16, NaN]"),
            Case("down_block_types", "[\"DownEncoderBlock2D\"]"),
            Case("down_block_types", "[\"DownEncoderBlock2D\", \"DownEncoderBlock2D\", \"DownEncoderBlock2D\", \"DownBlock2D\"]"),
            Case("up_block_types", "[\"UpDecoderBlock2D\", \"UpDecoderBlock2D\"]"),
            Case("up_block_types", "{\"0\": \"UpDecoderBlock2D\"}"),
            Case("act_fn", "\"relu\""),
            Case("sample_size", "100"),                    // not a multiple of 8
            Case("use_quant_conv", "\"true\""),
            Case("mid_block_add_attention", "0"),
        ]
        try assertEachRefused(cases, folder: "tiny-sd", config: "vae/config.json") { (folder: String) throws(FCSError) in
            let _: AutoencoderKLConfig = try decodeConfig(folder + "/vae/config.json")
        }
    }

    func test_textEncoderConfig_corruptValues_areErrorsNamingTheField() throws {
        var cases = badSizes("num_attention_heads") + badSizes("hidden_size") + badSizes("intermediate_size")
            + badSizes("num_hidden_layers") + badSizes("vocab_size") + badSizes("max_position_embeddings")
            + badPositiveFloats("layer_norm_eps")
        cases += [
            Case("num_attention_heads", "5"),              // does not divide 32
            Case("num_attention_heads", "64"),
            Case("hidden_size", "30", names: "num_attention_heads"),  // 4 heads do not split 30
            Case("vocab_size", "2000000"),                 // above ConfigLimits.maxVocabulary
            Case("hidden_act", "\"relu\""),
        ]
        try assertEachRefused(cases, folder: "tiny-sd", config: "text_encoder/config.json") { (folder: String) throws(FCSError) in
            let _: CLIPTextConfig = try decodeConfig(folder + "/text_encoder/config.json")
        }
    }

    func test_pixelSpaceUNetConfig_corruptValues_areErrorsNamingTheField() throws {
        var cases = badSizes("norm_num_groups") + badSizes("layers_per_block") + badSizes("in_channels")
            + badSizes("out_channels") + badSizes("sample_size") + badSizes("attn_norm_num_groups")
            + badPositiveFloats("norm_eps")
        cases += [
            Case("norm_num_groups", "3"),
            Case("attn_norm_num_groups", "3"),             // does not divide the mid block's 32
            Case("attention_head_dim", "0"),
            Case("attention_head_dim", "5"),               // does not divide 16
            Case("attention_head_dim", "64"),
            Case("attention_head_dim", "-16"),
            Case("attention_head_dim", "1000000000"),
            Case("attention_head_dim", "[16]"),
            Case("block_out_channels", "[16]", names: "down_block_types"),
            Case("block_out_channels", "[16, 0]"),
            Case("block_out_channels", "[]"),
            Case("down_block_types", "[\"AttnDownBlock2D\"]"),
            Case("up_block_types", "[\"UpBlock2D\", \"CrossAttnUpBlock2D\"]"),
            Case("mid_block_type", "\"UNetMidBlock2DCrossAttn\""),
            Case("time_embedding_type", "\"fourier\""),
            Case("downsample_type", "\"resnet\""),
            Case("upsample_type", "\"resnet\""),
            Case("resnet_time_scale_shift", "\"scale_shift\""),
            Case("class_embed_type", "\"timestep\""),
            Case("mid_block_scale_factor", "2"),
            Case("mid_block_scale_factor", "NaN"),
            Case("sample_size", "15"),
            Case("downsample_padding", "5"),
            Case("act_fn", "\"mish\""),
            Case("freq_shift", "Infinity"),
        ]
        try assertEachRefused(cases, folder: "tiny-unet2d/plain", config: "unet/config.json") {
            _ = try StableDiffusion.loadPixelSpaceUNet($0)
        }
    }

    func test_configOfAnotherClass_isRefused() throws {
        try assertEachRefused([Case("_class_name", "\"AutoencoderKL\""), Case("_class_name", "3")],
                              folder: "tiny-sd", config: "unet/config.json") { (folder: String) throws(FCSError) in
            let _: UNet2DConditionModelConfig = try decodeConfig(folder + "/unet/config.json")
        }
        try assertEachRefused([Case("_class_name", "\"UNet2DConditionModel\"")],
                              folder: "tiny-sd", config: "vae/config.json") { (folder: String) throws(FCSError) in
            let _: AutoencoderKLConfig = try decodeConfig(folder + "/vae/config.json")
        }
        try assertEachRefused([Case("model_type", "\"clip_vision_model\"")],
                              folder: "tiny-sd", config: "text_encoder/config.json") { (folder: String) throws(FCSError) in
            let _: CLIPTextConfig = try decodeConfig(folder + "/text_encoder/config.json")
        }
        try assertEachRefused([Case("_class_name", "\"UNet2DConditionModel\"")],
                              folder: "tiny-unet2d/plain", config: "unet/config.json") { _ = try StableDiffusion.loadPixelSpaceUNet($0) }
    }

    func test_modelIndex_namingComponentsFcsDoesNotImplement_isRefused() throws {
        let cases = [
            Case("unet", "[\"diffusers\", \"UNet2DModel\"]"),
            Case("unet", "[null, null]"),
            Case("unet", nil),
            Case("unet", "[\"diffusers\"]"),
            Case("unet", "[\"diffusers\", \"UNet2DConditionModel\", \"extra\"]"),
            Case("unet", "\"UNet2DConditionModel\""),
            Case("vae", "[\"diffusers\", \"AutoencoderTiny\"]"),
            Case("text_encoder", "[\"transformers\", \"CLIPTextModelWithProjection\"]"),
            Case("tokenizer", "[\"transformers\", \"T5Tokenizer\"]"),
            Case("_class_name", "5"),
        ]
        try assertEachRefused(cases, folder: "tiny-sd", config: "model_index.json") { try StableDiffusion.load($0) }
    }

    func test_schedulerConfig_fcsCannotImplement_isRefused() throws {
        let cases = [
            Case("prediction_type", "\"sample\""),
            Case("prediction_type", "1"),
            Case("beta_schedule", "\"squaredcos_cap_v2\""),
            Case("num_train_timesteps", "0"),
            Case("num_train_timesteps", "500"),
            Case("num_train_timesteps", "2.5"),
            Case("num_train_timesteps", "\"1000\""),
            Case("beta_start", "NaN"),
            Case("beta_start", "0", names: "beta_start"),
            Case("beta_start", "0.5", names: "beta_end"),
            Case("beta_end", "[0.012]"),
            Case("trained_betas", "[0.1, 0.2]"),
            Case("rescale_betas_zero_snr", "true"),
            Case("timestep_spacing", "\"karras\""),
            Case("steps_offset", "-1"),
            Case("final_sigmas_type", "\"sigma_max\""),
            Case("original_inference_steps", "0"),
            Case("original_inference_steps", "1001"),
            Case("timestep_scaling", "0"),
        ]
        try assertEachRefused(cases, folder: "tiny-sd", config: "scheduler/scheduler_config.json") { try StableDiffusion.load($0) }
        try assertEachRefused(cases, folder: "tiny-unet2d/plain", config: "scheduler/scheduler_config.json") {
            _ = try StableDiffusion.loadPixelSpaceUNet($0)
        }
    }

    func test_schedulerConfig_ofAnotherProcessFcsImplements_isCarriedToTheModel() throws {
        let folder = try copyFixture("tiny-sd"), path = folder + "/scheduler/scheduler_config.json"
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(try StableDiffusion.load(folder).schedulerConfig.stepsOffset, 1)
        XCTAssertEqual(try StableDiffusion.load(folder).schedulerConfig.timestepSpacing, "leading")
        for c in [Case("prediction_type", "\"v_prediction\""), Case("beta_schedule", "\"linear\""), Case("beta_start", "0.0001"),
                  Case("beta_end", "0.02"), Case("timestep_spacing", "\"trailing\""), Case("original_inference_steps", "25")] {
            try write(c, into: original, at: path)
            let config = try StableDiffusion.load(folder).schedulerConfig
            let read = [config.predictionType, config.betaSchedule.rawValue, "\(config.betaStart)", "\(config.betaEnd)",
                        config.timestepSpacing, "\(config.originalInferenceSteps)"]
            XCTAssertTrue(read.contains(c.value!.replacingOccurrences(of: "\"", with: "")), "\(c.field) = \(c.value!): \(read)")
        }
        let unet = try XCTUnwrap(StableDiffusion.loadPixelSpaceUNet(fixtures + "/tiny-unet2d/plain"))
        XCTAssertEqual(unet.schedulerConfig.betaSchedule, .scaledLinear)
    }

    func test_networksThatDoNotFitTogether_areRefusedBeforeLoading() throws {
        let load: (String) throws -> Void = { _ = try StableDiffusion.load($0) }
        try assertEachRefused([Case("cross_attention_dim", "64", names: "hidden_size"),
                               Case("in_channels", "9", names: "latent_channels"),
                               Case("out_channels", "8", names: "latent_channels")],
                              folder: "tiny-sd", config: "unet/config.json", load)
        try assertEachRefused([Case("in_channels", "4"), Case("out_channels", "1"), Case("latent_channels", "8", names: "in_channels")],
                              folder: "tiny-sd", config: "vae/config.json", load)
        try assertEachRefused([Case("max_position_embeddings", "16"), Case("hidden_size", "64", names: "cross_attention_dim")],
                              folder: "tiny-sd", config: "text_encoder/config.json", load)
        try assertEachRefused([Case("in_channels", "4"), Case("out_channels", "6")], folder: "tiny-unet2d/plain",
                              config: "unet/config.json") { _ = try StableDiffusion.loadPixelSpaceUNet($0) }
    }

    func test_wholeConfigFiles_thatAreNotConfigObjects_areErrorsNamingTheFile() throws {
        let folder = try copyFixture("tiny-sd")
        for file in ["unet/config.json", "vae/config.json", "text_encoder/config.json", "model_index.json", "scheduler/scheduler_config.json"] {
            let path = folder + "/" + file
            let original = try Data(contentsOf: URL(fileURLWithPath: path))
            for text in ["", "[1, 2]", "\"config\"", "null", "{\"in_channels\": ", "{\"in_channels\": 4} trailing", "\u{FEFF}\u{0}"] {
                try Data(text.utf8).write(to: URL(fileURLWithPath: path))
                assertFCSError(try StableDiffusion.load(folder), naming: [file], "\(file): \(text.debugDescription)")
            }
            try original.write(to: URL(fileURLWithPath: path))
        }
        XCTAssertNoThrow(try StableDiffusion.load(folder), "restored")
    }

    func test_configsSetInCode_areValidatedToo() throws {
        var unet = UNet2DConditionModelConfig()
        unet.normNumGroups = 0
        assertFCSError(try UNet2DConditionModel(config: unet, weights: .random(seed: 0)), naming: ["norm_num_groups"], "unet")
        var vae = AutoencoderKLConfig()
        vae.scalingFactor = .nan
        assertFCSError(try AutoencoderKL(config: vae, weights: .random(seed: 0)), naming: ["scaling_factor"], "vae")
        var text = CLIPTextConfig()
        text.numAttentionHeads = 0
        assertFCSError(try CLIPTextModel(config: text, weights: .random(seed: 0)), naming: ["num_attention_heads"], "text")
        var pixel = UNet2DModelConfig()
        pixel.attentionHeadDim = 0
        assertFCSError(try UNet2DModel(config: pixel, weights: .random(seed: 0)), naming: ["attention_head_dim"], "pixel")
        pixel = UNet2DModelConfig()
        pixel.blockOutChannels = [1 << 40]
        assertFCSError(try UNet2DModel(config: pixel, weights: .random(seed: 0)), naming: ["block_out_channels", "maxChannels"], "huge")
    }

    /// Each case written into `config` of a fresh copy of the fixture `folder`, then `load`
    /// (for the long tables, only the config's decoding, which every loader does first:
    /// test_wholeConfigFiles_… checks that each loader does).
    private func assertEachRefused(_ cases: [Case], folder fixture: String, config: String,
                                   file: StaticString = #filePath, line: UInt = #line,
                                   _ load: (String) throws -> Void) throws {
        let folder = try copyFixture(fixture)
        let path = folder + "/" + config
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertNoThrow(try load(folder), "the unedited copy loads", file: file, line: line)
        for c in cases {
            try write(c, into: original, at: path)
            assertFCSError(try load(folder), naming: [config, c.expected ?? c.field], "\(c.field) = \(c.value ?? "(absent)")",
                           file: file, line: line)
        }
    }

    private func copyFixture(_ name: String) throws -> String {
        let folder = temporary.appendingPathComponent(UUID().uuidString).path
        try FileManager.default.copyItem(atPath: fixtures + "/" + name, toPath: folder)
        return folder
    }

    /// `original` with the case's field replaced by its raw JSON text (which may be `NaN`).
    private func write(_ c: Case, into original: Data, at path: String) throws {
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: original) as? [String: Any])
        let placeholder = "@@value@@"
        object[c.field] = c.value == nil ? nil : placeholder
        var text = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        text = text.replacingOccurrences(of: "\"\(placeholder)\"", with: c.value ?? "")
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }
}

/// `body` throws an FCSError whose message contains each of `words`.
func assertFCSError(_ body: @autoclosure () throws -> some Any, naming words: [String], _ context: String,
                    file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("\(context): no error", file: file, line: line)
    } catch let error as FCSError {
        for word in words where !error.message.contains(word) {
            XCTFail("\(context): \"\(error.message)\" does not name \(word)", file: file, line: line)
        }
        XCTAssertFalse(error.message.contains("\n"), "\(context): one line", file: file, line: line)
    } catch {
        XCTFail("\(context): \(error) is not an FCSError", file: file, line: line)
    }
}
