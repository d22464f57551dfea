@testable import FCSModels
import FCSTensor
import Foundation
import XCTest

/// Configs read off a single file's tensor names and shapes, against the published configs of
/// SD 1.5 and SD 2.1 (the committed manifests hold every tensor's shape), and what is refused.
final class SingleFileConfigInferenceTests: TemporaryFolderTestCase {
    private var fixtures: String { Bundle.module.resourcePath! + "/Fixtures" }

    private func manifest(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixtures + "/manifest/\(name)"))) as! [String: Any]
    }

    private func shapes(_ manifest: [String: Any]) -> [String: [Int]] {
        (manifest["single_file"] as! [String: [Int]])
    }

    private func config<T: Decodable>(_ manifest: [String: Any], _ component: String, as type: T.Type) throws -> T {
        let configs = manifest["configs"] as! [String: Any]
        return try JSONDecoder().decode(T.self, from: JSONSerialization.data(withJSONObject: configs[component]!))
    }

    func test_sd15_inferredConfigs_areThePublishedOnes() throws {
        let sd15 = try manifest("sd15_manifest.json")
        let inferred = SingleFileConfigInference(shapes: shapes(sd15), source: "sd15")
        XCTAssertEqual(try inferred.tower(), .openAI)
        XCTAssertEqual(try inferred.unet(), try config(sd15, "unet", as: UNet2DConditionModelConfig.self))
        XCTAssertEqual(try inferred.vae(), try config(sd15, "vae", as: AutoencoderKLConfig.self))
        XCTAssertEqual(try inferred.text(), try config(sd15, "text_encoder", as: CLIPTextConfig.self))
        XCTAssertEqual(try inferred.schedulerConfig(), SchedulerConfig())
        // an LCM-distilled UNet's guidance embedding, under the diffusers name its single files keep
        var lcm = shapes(sd15)
        let condProj = "model.diffusion_model.time_embedding.cond_proj.weight"
        lcm[condProj] = [320, 256]
        XCTAssertEqual(try SingleFileConfigInference(shapes: lcm, source: "lcm").unet().timeCondProjDim, 256)
        XCTAssertEqual(SingleFileCheckpoint.mapping(of: condProj), .tensor(.unet, "time_embedding.cond_proj.weight"))
        // a deeper transformer at level 1 (input block 4) gives one depth per level
        var deeper = shapes(sd15)
        for (key, shape) in deeper where key.hasPrefix("model.diffusion_model.input_blocks.4.1.transformer_blocks.0.") {
            deeper[key.replacingOccurrences(of: "transformer_blocks.0.", with: "transformer_blocks.1.")] = shape
        }
        XCTAssertEqual(try SingleFileConfigInference(shapes: deeper, source: "deeper").unet().transformerLayersPerBlock, [1, 2, 1, 1])
    }

    func test_sd21_inferredConfigs_areThePublishedOnes_butThePredictionTypeIsOpen() throws {
        let sd21 = try manifest("sd21_manifest.json")
        let inferred = SingleFileConfigInference(shapes: shapes(sd21), source: "sd21")
        XCTAssertEqual(try inferred.tower(), .openCLIP)
        XCTAssertEqual(try inferred.unet(), try config(sd21, "unet", as: UNet2DConditionModelConfig.self))
        XCTAssertEqual(try inferred.unet().attentionHeadDim, [5, 10, 20, 20])
        XCTAssertEqual(try inferred.vae(), try config(sd21, "vae", as: AutoencoderKLConfig.self))
        XCTAssertEqual(try inferred.text(), try config(sd21, "text_encoder", as: CLIPTextConfig.self))
        XCTAssertEqual(try inferred.text().numHiddenLayers, 23)  // the file has 24: the penultimate convention
        XCTAssertNil(try inferred.schedulerConfig())
    }

    func test_inpaintingUNetsAndOtherShapes_areRefusedNamingWhy() throws {
        var shapes = shapes(try manifest("sd15_manifest.json"))
        shapes["model.diffusion_model.input_blocks.0.0.weight"] = [320, 9, 3, 3]
        assertFCSError(try SingleFileConfigInference(shapes: shapes, source: "inpainting.safetensors").unet(),
                       naming: ["inpainting.safetensors", "in_channels 9", "inpainting"], "9-channel UNet")
        shapes["model.diffusion_model.input_blocks.0.0.weight"] = [320, 4]
        assertFCSError(try SingleFileConfigInference(shapes: shapes, source: "f").unet(), naming: ["input_blocks.0.0.weight", "[320, 4]"], "rank")
        shapes = self.shapes(try manifest("sd15_manifest.json")).filter { !$0.key.hasPrefix("cond_stage_model.") }
        assertFCSError(try SingleFileConfigInference(shapes: shapes, source: "f").vae(), naming: ["no text encoder"], "no text tower")
        // heads are not in the weights: a UNet of neither family is undecidable
        shapes = self.shapes(try manifest("sd15_manifest.json"))
        shapes["model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight"] = [320, 1024]
        assertFCSError(try SingleFileConfigInference(shapes: shapes, source: "f").unet(),
                       naming: ["context width 1024", "head counts", "config folder", "unet/config.json"], "no family")
        // nor are the tiny model's widths a CLIP tower's
        assertFCSError(try StableDiffusion.load(fixtures + "/tiny-sd/tiny-sd.safetensors"),
                       naming: ["tiny-sd.safetensors", "32 wide", "config folder"], "tiny SD 1")
    }

    func test_sd2SingleFile_needsTheSchedulerConfig_andTakesWhatAFolderHas() throws {
        let folder = temporary.appendingPathComponent("configs").path, tinySD2 = fixtures + "/tiny-sd2"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for component in ["unet", "vae", "text_encoder"] {
            try FileManager.default.createDirectory(atPath: folder + "/" + component, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: "\(tinySD2)/\(component)/config.json", toPath: "\(folder)/\(component)/config.json")
        }
        try FileManager.default.copyItem(atPath: tinySD2 + "/tokenizer", toPath: folder + "/tokenizer")
        var options = StableDiffusion.LoadOptions()
        options.configFolder = folder
        assertFCSError(try StableDiffusion.load(tinySD2 + "/tiny-sd2.safetensors", options: options),
                       naming: ["SD 2.x", "ε", "v", "scheduler/scheduler_config.json", "prediction_type"], "no scheduler config")
        try FileManager.default.createDirectory(atPath: folder + "/scheduler", withIntermediateDirectories: true)
        try Data(#"{"prediction_type": "v_prediction"}"#.utf8).write(to: URL(fileURLWithPath: folder + "/scheduler/scheduler_config.json"))
        let model = try StableDiffusion.load(tinySD2 + "/tiny-sd2.safetensors", options: options)
        XCTAssertEqual(model.schedulerConfig.predictionType, "v_prediction")
        XCTAssertEqual(model.tokenizer.padTokenID, 0)
        // without tokenizer/, the built-in vocabulary (49,408 tokens) is too large for the tiny text encoder's 1,000
        try FileManager.default.removeItem(atPath: folder + "/tokenizer")
        assertFCSError(try StableDiffusion.load(tinySD2 + "/tiny-sd2.safetensors", options: options),
                       naming: ["built-in CLIP vocabulary", "vocab_size"], "built-in tokenizer")
    }
}
