import FCSImaging
import FCSModels
@testable import FCSSampler
import FCSTensor
import XCTest

/// Pixel tasks through the VAE-Newton transport, on the tiny pixel-space model (where the
/// transport is exact: the identity codec is its own inverse).
final class PixelConstraintTests: XCTestCase {
    private func image(seed: UInt64, height: Int = 32, width: Int = 32) -> Tensor {
        var random = NormalGenerator(seed: seed)
        let shape = [1, 3, height, width]
        return Tensor(shape: shape, values: random.tensor(shape, scale: 0.5).toArray().map { min(1, max(-1, $0)) })
    }

    /// Sampled with and without the constraint's inner steps from the same noise.
    private func constrainedAndFree(_ constraint: any PixelConstraint, steps: Int = 4) throws -> (on: Tensor, off: Tensor) {
        let model = try PixelSpaceTests.model.get()
        let transport = try VAENewtonTransport(constraint, codec: XCTUnwrap(model.codec as? IdentityCodec))
        var parameters = PixelTaskParameters(for: model).sampler
        (parameters.steps, parameters.learningRates) = (steps, [0.5])  // the random model's x̂0 moves little at the demo's λ
        let noise = SamplerNoise.seeded(2, shape: transport.latentShape, steps: steps)
        let sampler = ConstrainedSampler(unet: model.denoiser)
        let on = try sampler.sample(constraint: transport, conditioning: nil, noise: noise, parameters: parameters)
        parameters.newtonSteps = 0
        return (on, try sampler.sample(constraint: transport, conditioning: nil, noise: noise, parameters: parameters))
    }

    func test_blur_constraintPullsTheBlurredEstimateTowardsTheInput() throws {
        for blur in [try Blur(gaussianSigma: 1), try Blur(kernel: [1, 1, 1, 1, 1], height: 1, width: 5)] {
            let y = blur(image(seed: 1))
            let constraint = try LinearOperatorConstraint(measurement: y, imageOperator: blur, imageShape: y.shape)
            let (on, off) = try constrainedAndFree(constraint)
            let (fit, free) = (constraint.residualNorm(on), constraint.residualNorm(off))
            XCTAssertLessThan(fit, 0.5 * free, "‖y − k∗x‖ with the constraint \(fit), without \(free)")
        }
    }

    /// Inpainting is a linear operator too (A = m ⊙ x): through the pixel path it meets the
    /// known pixels as the latent inpainting constraint does.
    func test_inpaintingAsAPixelMask_meetsTheKnownPixels() throws {
        var known = [Float](repeating: 1, count: 32 * 32)
        for y in 8..<24 { for x in 8..<24 { known[y * 32 + x] = 0 } }
        let mask = try PixelMask(knownMask: Tensor(shape: [1, 1, 32, 32], values: known))
        let constraint = try LinearOperatorConstraint(measurement: mask(image(seed: 2)), imageOperator: mask, imageShape: [1, 3, 32, 32])
        let (on, off) = try constrainedAndFree(constraint)
        XCTAssertLessThan(constraint.residualNorm(on), 0.5 * constraint.residualNorm(off))
    }

    func test_colorize_keepsTheInputsLuminance() throws {
        let model = try PixelSpaceTests.model.get()
        var parameters = PixelTaskParameters(for: model)
        (parameters.sampler.steps, parameters.sampler.newtonSteps) = (2, 2)
        let photo = image(seed: 3, height: 20, width: 30), grey = Luminance()(photo)
        for input in [grey, photo] {
            let out = try model.colorize(image: input, parameters: parameters)
            XCTAssertEqual(out.shape, [1, 3, 20, 30])
            XCTAssertEqual(zip(Luminance()(out).toArray(), grey.toArray()).map { abs($0 - $1) }.max() ?? .nan, 0, accuracy: 1e-5)
        }
        XCTAssertThrowsError(try model.colorize(image: Tensor(zeros: [1, 2, 8, 8]), parameters: parameters)) {
            XCTAssertEqual(($0 as? FCSError)?.code, .invalidArgument)
        }
    }

    func test_deblur_anySize_comesBackAtItsSize() throws {
        let model = try PixelSpaceTests.model.get()
        var parameters = PixelTaskParameters(for: model)
        (parameters.sampler.steps, parameters.sampler.newtonSteps) = (1, 1)
        let out = try model.deblur(image: image(seed: 4, height: 13, width: 21), blur: try Blur(gaussianSigma: 2), parameters: parameters)
        XCTAssertEqual(out.shape, [1, 3, 13, 21])
        XCTAssertTrue(out.toArray().allSatisfy { $0 >= -1 && $0 <= 1 })
    }

    /// A constraint written by a caller: it sees D(x̂0) at the image's own size (not padded), and
    /// what it throws ends sampling with that error.
    func test_callersConstraint_seesTheImageAtItsSize_andItsErrorsStopSampling() throws {
        struct KeepLeftColumns: PixelConstraint {
            let target: Tensor
            var imageShape: [Int] { target.shape }
            func pixelChange(decoded image: Tensor, in arena: ScratchArena) throws(FCSError) -> Tensor {
                guard image.shape == target.shape else { throw .internal("saw \(image.shape)") }
                let width = image.shape[3]
                return Tensor(shape: image.shape, values: zip(target.toArray(), image.toArray()).enumerated().map {
                    $0.offset % width < width / 2 ? $0.element.0 - $0.element.1 : 0
                })
            }
        }
        struct Failing: PixelConstraint {
            var imageShape: [Int] { [1, 3, 16, 16] }
            func pixelChange(decoded image: Tensor, in arena: ScratchArena) throws(FCSError) -> Tensor {
                throw FCSError(.cancelled, "the constraint callback returned 7")
            }
        }
        let model = try PixelSpaceTests.model.get()
        var parameters = PixelTaskParameters(for: model)
        (parameters.sampler.steps, parameters.sampler.newtonSteps, parameters.sampler.learningRates) = (4, 10, [0.5])
        let target = image(seed: 5, height: 20, width: 20)
        let out = try model.solve(KeepLeftColumns(target: target), parameters: parameters).toArray()
        parameters.sampler.newtonSteps = 0
        let free = try model.solve(KeepLeftColumns(target: target), parameters: parameters).toArray()
        func leftError(_ values: [Float]) -> Float {
            zip(values, target.toArray()).enumerated().filter { $0.offset % 20 < 10 }.map { ($0.element.0 - $0.element.1) * ($0.element.0 - $0.element.1) }.reduce(0, +)
        }
        XCTAssertLessThan(leftError(out), 0.5 * leftError(free), "left half kept: \(leftError(out)), free \(leftError(free))")
        parameters.sampler.newtonSteps = 1
        XCTAssertThrowsError(try model.solve(Failing(), parameters: parameters)) {
            XCTAssertEqual(($0 as? FCSError)?.code, .cancelled)
            XCTAssertTrue("\($0)".contains("returned 7"))
        }
    }
}
