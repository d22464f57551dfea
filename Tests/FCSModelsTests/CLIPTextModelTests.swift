import FCSModels
import FCSTensor
import Foundation
import XCTest

/// CLIPTextModel against transformers 5.23 on a tiny random config (tools/make_tiny_models.py).
final class CLIPTextModelTests: XCTestCase {
    private var fixtures: String { Bundle.module.resourcePath! + "/Fixtures/tiny-sd" }

    private func loadConfig() throws -> CLIPTextConfig {
        try JSONDecoder().decode(CLIPTextConfig.self, from: Data(contentsOf: URL(fileURLWithPath: fixtures + "/text_encoder/config.json")))
    }

    func test_lastHiddenState_matchesTransformers() throws {
        let model = try CLIPTextModel(config: try loadConfig(),
                                      weights: WeightReader(file: try SafeTensorsFile(path: fixtures + "/text_encoder/model.safetensors")))
        let reference = try SafeTensorsFile(path: fixtures + "/reference.safetensors")
        let ids = try reference.tensor("text_encoder.input_ids")
        let rows = (0..<ids.shape[0]).map { b in (0..<ids.shape[1]).map { Int32(ids.data[b * ids.shape[1] + $0]) } }
        let expected = try reference.tensor("text_encoder.last_hidden_state")
        let actual = try model(rows, in: ScratchArena())
        XCTAssertEqual(actual.shape, expected.shape)
        let a = actual.toArray(), e = expected.toArray()
        let worst = zip(a, e).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(worst, 1e-4, "max |error| vs transformers")
    }

    func test_defaults_areSD15TextEncoder() throws {
        let config = try JSONDecoder().decode(CLIPTextConfig.self, from: Data("{}".utf8))
        XCTAssertEqual(config, CLIPTextConfig())
        XCTAssertEqual([config.vocabSize, config.hiddenSize, config.intermediateSize, config.numHiddenLayers, config.numAttentionHeads],
                       [49408, 768, 3072, 12, 12])
    }

    func test_badInputs_throwInsteadOfTrapping() throws {
        var config = try loadConfig()
        let file = try SafeTensorsFile(path: fixtures + "/text_encoder/model.safetensors")
        let model = try CLIPTextModel(config: config, weights: WeightReader(file: file))
        let arena = ScratchArena()
        XCTAssertThrowsError(try model([[1, 2], [1]], in: arena))
        XCTAssertThrowsError(try model([[Int32(config.vocabSize)]], in: arena))
        XCTAssertThrowsError(try model([[Int32](repeating: 1, count: 78)], in: arena))
        config.hiddenSize = 48  // a config that does not fit the file names the tensor and both shapes
        XCTAssertThrowsError(try CLIPTextModel(config: config, weights: WeightReader(file: file))) {
            XCTAssertTrue("\($0)".contains("token_embedding") && "\($0)".contains("[1000, 48]"), "\($0)")
        }
    }
}
