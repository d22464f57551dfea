import FCSModels
import FCSTensor
import Foundation
import XCTest

/// UNet2DModel (pixel-space denoiser) against diffusers 0.42.1 on two tiny random models
/// (tools/make_tiny_unet2d.py): the demo model's block layout, and one that exercises the
/// options (one head per block, centred input, freq shift, attention norm groups).
final class UNet2DModelTests: XCTestCase {
    private func fixture(_ name: String) -> String { Bundle.module.resourcePath! + "/Fixtures/tiny-unet2d/" + name }

    private func model(_ name: String) throws -> UNet2DModel {
        let config = try JSONDecoder().decode(UNet2DModelConfig.self, from: Data(contentsOf: URL(fileURLWithPath: fixture(name) + "/unet/config.json")))
        let weights = WeightReader(file: try SafeTensorsFile(path: fixture(name) + "/unet/diffusion_pytorch_model.safetensors"))
        let unet = try UNet2DModel(config: config, weights: weights)
        XCTAssertEqual(weights.unreadTensors(), [], "every tensor has its place")
        return unet
    }

    func test_epsilon_matchesDiffusers() throws {
        for name in ["demo-shaped", "plain"] {
            let unet = try model(name)
            let reference = try SafeTensorsFile(path: fixture(name) + "/reference.safetensors")
            let expected = try reference.tensor("output")
            let out = unet(try reference.tensor("sample"), timesteps: try reference.tensor("timesteps").toArray(), in: ScratchArena())
            XCTAssertEqual(out.shape, expected.shape)
            let scale = max(1, expected.toArray().map(abs).max()!)
            let error = zip(out.toArray(), expected.toArray()).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(error, 1e-4 * scale, "\(name): max |error| \(error), max |expected| \(scale)")
        }
    }

    func test_unsupportedConfigs_areNamedErrors() throws {
        var config = UNet2DModelConfig()
        config.timeEmbeddingType = "fourier"
        XCTAssertThrowsError(try UNet2DModel(config: config, weights: .random(seed: 0))) {
            XCTAssertTrue("\($0)".contains("time_embedding_type") && "\($0)".contains("positional"), "\($0)")
        }
        config = UNet2DModelConfig()
        config.downBlockTypes[0] = "SkipDownBlock2D"
        XCTAssertThrowsError(try UNet2DModel(config: config, weights: .random(seed: 0))) {
            XCTAssertTrue("\($0)".contains("SkipDownBlock2D"), "\($0)")
        }
    }
}
