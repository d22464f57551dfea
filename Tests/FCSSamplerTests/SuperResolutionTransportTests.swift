import FCSModels
@testable import FCSSampler
import FCSTensor
import Foundation
import XCTest

/// Super-resolution with TAESD doing the transport's VAE passes, on the tiny SD model and the
/// tiny TAESD of tools/make_tiny_taesd.py (distilled towards that model's VAE).
///
/// Not tested: that the transport pulls A(D(x̂0)) towards y. On these random models it does
/// not, with either autoencoder: over seeds and K = 1 … 10 the residual moves by a few percent
/// either way with the model's own VAE as with TAESD (the random VAE's encoder is no inverse of
/// its decoder, the premise of the VAE-Newton step; see SuperResolutionTests). What is tested is
/// that the inner loop runs on TAESD exactly as the reference implementation does and that the
/// final decode stays the VAE's.
final class SuperResolutionTransportTests: XCTestCase {
    private static let taesd = Result { try AutoencoderTiny.load(TinySD.tests.appendingPathComponent("FCSModelsTests/Fixtures/tiny-taesd").path) }
    private let referencePath = TinySD.tests.appendingPathComponent("FCSSamplerTests/Fixtures/taesd_superres_reference.safetensors").path

    private func models() throws -> (plain: DiffusionModel, transported: DiffusionModel, taesd: AutoencoderTiny) {
        let plain = try TinySD.model.get().diffusionModel, taesd = try Self.taesd.get()
        return (plain, try plain.transporting(with: taesd, source: "tiny-taesd"), taesd)
    }

    private func quick(newtonSteps: Int) -> SuperResolutionParameters {
        var parameters = SuperResolutionParameters()
        parameters.sampler.steps = 2
        parameters.sampler.newtonSteps = newtonSteps
        parameters.seed = 5
        return parameters
    }

    private var low: Tensor {
        var random = NormalGenerator(seed: 4)
        // 16² ×4 = 64², a multiple of the tiny model's 64, so superResolve pads nothing
        return Tensor(shape: [1, 3, 16, 16], values: random.tensor([1, 3, 16, 16], scale: 0.5).toArray().map { min(1, max(-1, $0)) })
    }

    func test_samplerOnTheTAESDConstraint_matchesTheReferenceImplementation() throws {
        struct SR: Decodable { let newton_steps: Int, learning_rates: [Float], h: Float, vae_h: Float, factor: Int }
        let (plain, _, taesd) = try models()
        let reference = try SafeTensorsFile(path: referencePath)
        let c = try JSONDecoder().decode(SR.self, from: Data(reference.metadata["superres"]!.utf8))
        let steps = Int(reference.metadata["steps"]!)!
        let constraint = try SuperResolutionConstraint(lowResolution: try reference.tensor("superres.low"), factor: c.factor,
                                                       codec: taesd, finiteDifferenceStep: c.vae_h)
        var parameters = SamplerParameters()
        parameters.steps = steps
        parameters.newtonSteps = c.newton_steps
        parameters.learningRates = c.learning_rates
        parameters.finiteDifferenceStep = c.h
        let (conditioning, _) = try plain.conditioning(prompt: "", guided: false, in: ScratchArena())
        let x0 = try ConstrainedSampler(unet: plain.denoiser).sample(
            constraint: constraint, conditioning: conditioning,
            noise: try SamplerNoise(contentsOf: referencePath, steps: steps), parameters: parameters).toArray()
        let expected = try reference.tensor("superres.x0").toArray()
        let scale = expected.map(abs).max()!, error = zip(x0, expected).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(error, 1e-3 * scale, "max |error| \(error), scale \(scale)")
    }

    func test_superResolve_runsTheInnerLoopOnTAESD_andDecodesWithTheVAE() throws {
        let (plain, transported, taesd) = try models()
        let parameters = quick(newtonSteps: 2)
        let result = try transported.superResolve(image: low, factor: 4, parameters: parameters)
        // by hand: the sampler under the TAESD constraint, then the VAE's decode
        let constraint = try SuperResolutionConstraint(lowResolution: low, factor: 4, codec: taesd)
        let arena = ScratchArena()
        let (conditioning, _) = try plain.conditioning(prompt: "", guided: false, in: arena)
        let x0 = try ConstrainedSampler(unet: plain.denoiser).sample(
            constraint: constraint, conditioning: conditioning,
            noise: .seeded(parameters.seed, shape: constraint.latentShape, steps: 2), parameters: parameters.sampler)
        XCTAssertEqual(result.toArray(), try plain.decodeClamped(x0, in: arena))
        XCTAssertNotEqual(result.toArray(), try plain.superResolve(image: low, factor: 4, parameters: parameters).toArray(),
                          "the transport changes the inner steps")
        // without inner steps the transport is never used
        XCTAssertEqual(try transported.superResolve(image: low, factor: 4, parameters: quick(newtonSteps: 0)).toArray(),
                       try plain.superResolve(image: low, factor: 4, parameters: quick(newtonSteps: 0)).toArray())
    }

    func test_transporting_refusesAutoencodersOfAnotherLatentSpace() throws {
        let (plain, _, _) = try models()
        func tiny(_ edit: (inout AutoencoderTinyConfig) -> Void) throws -> AutoencoderTiny {
            var config = AutoencoderTinyConfig()
            (config.encoderBlockOutChannels, config.decoderBlockOutChannels) = ([4, 4, 4, 4], [4, 4, 4, 4])
            edit(&config)
            return try AutoencoderTiny(config: config, weights: .random(seed: 1))
        }
        for (taesd, word) in [(try tiny { $0.latentChannels = 8 }, "8 channels"),
                              (try tiny { ($0.encoderBlockOutChannels, $0.numEncoderBlocks) = ([4, 4, 4], [1, 1, 1]) }, "encoder 1/4"),
                              (try tiny { $0.inChannels = 4 }, "in_channels")] {
            XCTAssertThrowsError(try plain.transporting(with: taesd, source: "taesd-folder")) {
                XCTAssertEqual(($0 as? FCSError)?.code, .invalidArgument)
                XCTAssertTrue("\($0)".contains("taesd-folder") && "\($0)".contains(word), "\($0)")
            }
        }
        XCTAssertThrowsError(try PixelSpaceTests.model.get().transporting(with: try Self.taesd.get(), source: "taesd-folder")) {
            XCTAssertTrue("\($0)".contains("pixel-space"), "\($0)")
        }
    }
}
