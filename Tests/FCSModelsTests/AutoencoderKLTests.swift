import FCSModels
import FCSTensor
import Foundation
import XCTest

/// AutoencoderKL against diffusers 0.42.1 on the tiny SD-shaped VAE (tools/make_tiny_models.py).
final class AutoencoderKLTests: XCTestCase {
    private var fixtures: String { Bundle.module.resourcePath! + "/Fixtures/tiny-sd" }

    private func config() throws -> AutoencoderKLConfig {
        try JSONDecoder().decode(AutoencoderKLConfig.self, from: Data(contentsOf: URL(fileURLWithPath: fixtures + "/vae/config.json")))
    }

    private func maxError(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        return zip(a.toArray(), b.toArray()).map { abs($0 - $1) }.max() ?? .nan
    }

    func test_encodeAndDecode_matchDiffusers() throws {
        let vae = try AutoencoderKL(config: try config(), weights: WeightReader(
            file: try SafeTensorsFile(path: fixtures + "/vae/diffusion_pytorch_model.safetensors")))
        let reference = try SafeTensorsFile(path: fixtures + "/reference.safetensors")
        let arena = ScratchArena()
        let (mean, logVariance) = vae.encode(try reference.tensor("vae.enc.image"), in: arena)
        XCTAssertLessThanOrEqual(maxError(mean, try reference.tensor("vae.enc.mean")), 1e-4, "posterior mean")
        XCTAssertLessThanOrEqual(maxError(logVariance, try reference.tensor("vae.enc.logvar")), 1e-4, "posterior log-variance")
        XCTAssertLessThanOrEqual(maxError(vae.decode(try reference.tensor("vae.dec.latent"), in: arena),
                                          try reference.tensor("vae.dec.out")), 1e-4, "decoder")
    }

    func test_singleFile_givesTheSameResultsAsTheFolder() throws {
        let config = try config()
        let folder = try AutoencoderKL(config: config, weights: WeightReader(
            file: try SafeTensorsFile(path: fixtures + "/vae/diffusion_pytorch_model.safetensors")))
        let single = try AutoencoderKL(config: config, weights: SingleFileCheckpoint.weights(
            try SafeTensorsFile(path: fixtures + "/tiny-sd.safetensors"), component: .vae, vaeLevels: config.blockOutChannels.count))
        let reference = try SafeTensorsFile(path: fixtures + "/reference.safetensors")
        let arena = ScratchArena()
        let latent = try reference.tensor("vae.dec.latent"), image = try reference.tensor("vae.enc.image")
        XCTAssertEqual(single.decode(latent, in: arena).toArray(), folder.decode(latent, in: arena).toArray())
        XCTAssertEqual(single.encode(image, in: arena).mean.toArray(), folder.encode(image, in: arena).mean.toArray())
    }

    func test_defaults_areSD15() throws {
        let config = try JSONDecoder().decode(AutoencoderKLConfig.self, from: Data("{}".utf8))
        XCTAssertEqual(config, AutoencoderKLConfig())
        XCTAssertEqual(config.blockOutChannels, [128, 256, 512, 512])
        XCTAssertEqual(config.scalingFactor, 0.18215)
    }

    func test_mismatchedConfig_namesTheTensor() throws {
        var config = try config()
        config.latentChannels = 8
        XCTAssertThrowsError(try AutoencoderKL(config: config, weights: WeightReader(
            file: try SafeTensorsFile(path: fixtures + "/vae/diffusion_pytorch_model.safetensors")))) {
            XCTAssertTrue("\($0)".contains("conv_out.weight") || "\($0)".contains("conv_in.weight"), "\($0)")
        }
    }
}
