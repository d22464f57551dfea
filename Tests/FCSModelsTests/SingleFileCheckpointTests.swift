import FCSModels
import FCSTensor
import Foundation
import XCTest

/// The single-file (LDM) → diffusers key mapping, against diffusers' own conversion
/// (tools/make_sd15_manifest.py) and on the tiny model saved in both layouts.
final class SingleFileCheckpointTests: XCTestCase {
    private var fixtures: String { Bundle.module.resourcePath! + "/Fixtures" }

    func test_everySD15Key_mapsAsDiffusersMapsIt() throws {
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixtures + "/manifest/sd15_manifest.json"))) as! [String: Any]
        let expected = manifest["single_file_to_diffusers"] as! [String: String]
        let diffusers = manifest["diffusers"] as! [String: [String: Any]]
        XCTAssertEqual(expected.count, 1130)
        var mapped: [SingleFileCheckpoint.Component: Set<String>] = [:]
        for (key, name) in expected {
            let result = SingleFileCheckpoint.diffusersName(of: key)
            XCTAssertEqual(result?.1, name, key)
            if let (component, name) = result { mapped[component, default: []].insert(name) }
        }
        // complete and onto: every diffusers tensor of each network is reached exactly once
        for component in SingleFileCheckpoint.Component.allCases {
            XCTAssertEqual(mapped[component], Set(diffusers[component.rawValue]!.keys), component.rawValue)
        }
        let nonNetwork = (manifest["single_file_non_network_keys"] as! [String: Any]).keys
        XCTAssertFalse(nonNetwork.isEmpty)
        for key in nonNetwork {
            XCTAssertNil(SingleFileCheckpoint.diffusersName(of: key), key)
        }
    }

    func test_textEncoder_fromSingleFile_equalsTheDiffusersFolder() throws {
        let config = try JSONDecoder().decode(CLIPTextConfig.self, from: Data(contentsOf: URL(fileURLWithPath: fixtures + "/tiny-sd/text_encoder/config.json")))
        let folder = try CLIPTextModel(config: config, weights: WeightReader(file: try SafeTensorsFile(path: fixtures + "/tiny-sd/text_encoder/model.safetensors")))
        let single = try CLIPTextModel(config: config, weights: SingleFileCheckpoint.weights(
            try SafeTensorsFile(path: fixtures + "/tiny-sd/tiny-sd.safetensors"), component: .textEncoder))
        let ids: [[Int32]] = [[998] + [Int32](repeating: 5, count: 75) + [999]]
        let arena = ScratchArena()
        XCTAssertEqual(try single(ids, in: arena).toArray(), try folder(ids, in: arena).toArray())
    }

    /// The tiny single file with `edit` applied to its tensors, loaded with the tiny configs.
    private func loadEdited(_ edit: (inout [String: Tensor]) -> Void) throws -> StableDiffusion {
        let original = try SafeTensorsFile(path: fixtures + "/tiny-sd/tiny-sd.safetensors")
        var tensors: [String: Tensor] = [:]
        // (the integer tensors, position_ids and model_ema.num_updates, are no weights)
        for name in original.names where original.info(name)?.dtype == .F32 { tensors[name] = try original.tensor(name) }
        edit(&tensors)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fcs-single-\(UUID()).safetensors").path
        defer { unlink(path) }
        try SafeTensorsWriter.write(tensors, to: path)
        var options = StableDiffusion.LoadOptions()
        options.configFolder = fixtures + "/tiny-sd"
        return try StableDiffusion.load(path, options: options)
    }

    func test_missingExtraAndMisshapedKeys_areErrorsNamingTheKey() throws {
        XCTAssertNoThrow(try loadEdited { _ in }, "the unedited copy loads")
        let resnetNorm = "model.diffusion_model.input_blocks.1.0.in_layers.0.weight"
        assertFCSError(try loadEdited { $0[resnetNorm] = nil },
                       naming: ["down_blocks.0.resnets.0.norm1.weight", "model.diffusion_model."], "missing unet key")
        assertFCSError(try loadEdited { $0["first_stage_model.decoder.conv_in.bias"] = nil },
                       naming: ["decoder.conv_in.bias", "first_stage_model."], "missing vae key")
        assertFCSError(try loadEdited { $0[resnetNorm] = Tensor(zeros: [5]) },
                       naming: [resnetNorm, "down_blocks.0.resnets.0.norm1.weight", "[5]", "[4]"], "misshaped key")
        assertFCSError(try loadEdited { $0[resnetNorm] = Tensor(zeros: [4, 1, 1, 2]) }, naming: [resnetNorm], "misshaped key")
        for extra in ["model.diffusion_model.mystery.weight", "model.diffusion_model.input_blocks.99.0.in_layers.0.weight",
                      "first_stage_model.encoder.down.9.block.0.conv1.weight", "first_stage_model.quant_conv.extra",
                      "cond_stage_model.transformer.encoder.layers.7.mlp.fc1.weight"] {
            assertFCSError(try loadEdited { $0[extra] = Tensor(zeros: [1]) }, naming: [extra], "extra key")
        }
        // the text encoder's embedding twice, with and without the text_model level: ambiguous
        let embedding = "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"
        assertFCSError(try loadEdited { $0["cond_stage_model.transformer.embeddings.token_embedding.weight"] = $0[embedding] },
                       naming: ["token_embedding"], "duplicate mapping")
        // keys outside the three networks (EMA copies, schedule buffers) are not weights
        XCTAssertNoThrow(try loadEdited { $0["model_ema.decay"] = Tensor(zeros: [1]); $0["betas"] = Tensor(zeros: [1000]) })
    }

    func test_keysWithHugeOrNegativeIndices_mapToNothing() throws {
        // (block arithmetic on Int.min trapped)
        for key in ["model.diffusion_model.input_blocks.-9223372036854775808.0.in_layers.0.weight",
                    "model.diffusion_model.output_blocks.9223372036854775807.0.in_layers.0.weight",
                    "model.diffusion_model.middle_block.-1.in_layers.0.weight",
                    "first_stage_model.decoder.up.-9223372036854775808.block.0.conv1.weight",
                    "first_stage_model.decoder.up.4.block.0.conv1.weight"] {
            XCTAssertNil(SingleFileCheckpoint.diffusersName(of: key), key)
            assertFCSError(try loadEdited { $0[key] = Tensor(zeros: [1]) }, naming: [key], "extra key \(key)")
        }
        for layers in [-1, 0] {  // (layers_per_block = -1 divided by zero)
            XCTAssertNil(SingleFileCheckpoint.diffusersName(of: "model.diffusion_model.input_blocks.1.0.in_layers.0.weight",
                                                            layersPerBlock: layers))
        }
    }
}
