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
}
