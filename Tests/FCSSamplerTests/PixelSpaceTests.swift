import FCSImaging
import FCSModels
@testable import FCSSampler
import FCSTensor
import Foundation
import XCTest

/// The sampler on a pixel-space UNet2DModel with the identity codec (the demo model's kind),
/// here the tiny random demo-shaped model of the UNet2DModel parity test.
final class PixelSpaceTests: XCTestCase {
    private static let folder = TinySD.tests.appendingPathComponent("FCSModelsTests/Fixtures/tiny-unet2d/demo-shaped").path
    /// Loaded once for every test that needs a pixel-space model.
    static let model = Result { try DiffusionModel.load(folder) }

    private var image: Tensor {
        var random = NormalGenerator(seed: 6)
        return Tensor(shape: [1, 3, 32, 32], values: random.tensor([1, 3, 32, 32], scale: 0.5).toArray().map { min(1, max(-1, $0)) })
    }

    func test_load_findsThePixelSpaceModel() throws {
        let model = try Self.model.get()
        XCTAssertTrue((model.denoiser as? TiledNoisePredictor)?.denoiser is UNet2DModel && model.codec is IdentityCodec
                      && model.promptEncoder == nil)
        XCTAssertTrue(try DiffusionModel.load(TinySD.tests.appendingPathComponent("FCSModelsTests/Fixtures/tiny-sd").path).codec is VAE)
    }

    func test_demoModel_isFoundByName() throws {
        let demo = try DiffusionModel.load(DemoModel.name)
        XCTAssertTrue((demo.denoiser as? TiledNoisePredictor)?.denoiser is UNet2DModel && demo.codec is IdentityCodec)
        XCTAssertEqual(demo.pixelMultiple, 8)
    }

    func test_superResolutionDefaults_takeTheSmallerPixelSpaceStep() throws {
        XCTAssertEqual(SuperResolutionParameters(for: try Self.model.get()).sampler.learningRates, [0.05])
        let sd = try DiffusionModel.load(TinySD.tests.appendingPathComponent("FCSModelsTests/Fixtures/tiny-sd").path)
        XCTAssertEqual(SuperResolutionParameters(for: sd).sampler.learningRates, SuperResolutionParameters().sampler.learningRates)
        XCTAssertEqual(SuperResolutionParameters().sampler.learningRates, [0.5], "latent models keep the official λ")
    }

    func test_inpainting_constrainsThePixelsThemselves() throws {
        let model = try Self.model.get()
        XCTAssertEqual(model.pixelMultiple, 8)
        var fill = [Float](repeating: 0, count: 32 * 32)
        for y in 8..<24 { for x in 8..<24 { fill[y * 32 + x] = 1 } }
        let constraint = try InpaintingConstraint(image: image, fillMask: Tensor(shape: [1, 1, 32, 32], values: fill), codec: XCTUnwrap(model.codec as? IdentityCodec))
        XCTAssertEqual(constraint.knownLatent.toArray(), image.toArray().enumerated().map { fill[$0.offset % 1024] != 0 ? 0 : $0.element })
        XCTAssertEqual(constraint.latentMask.toArray().reduce(0, +), Float(3 * (1024 - 256)), "every known pixel is constrained")

        var parameters = SamplerParameters()
        parameters.steps = 10
        let noise = SamplerNoise.seeded(1, shape: [1, 3, 32, 32], steps: 10)
        let sampler = ConstrainedSampler(unet: model.denoiser)
        func residual(_ x0: Tensor) -> Float {
            constraint.errorDirection(predictedClean: x0, in: ScratchArena()).toArray().map { $0 * $0 }.reduce(0, +).squareRoot()
        }
        let constrained = try sampler.sample(constraint: constraint, conditioning: nil, noise: noise, parameters: parameters)
        parameters.newtonSteps = 0
        let free = try sampler.sample(constraint: constraint, conditioning: nil, noise: noise, parameters: parameters)
        XCTAssertLessThanOrEqual(residual(constrained), residual(free) / 10, "constrained \(residual(constrained)), free \(residual(free))")
        // the replacement baseline pulls the known region towards the image too, less tightly
        let replaced = try ConstrainedSampler(unet: model.denoiser, projection: ReplacementProjection(constraint))
            .sample(constraint: constraint, conditioning: nil, noise: noise, parameters: parameters)
        XCTAssertLessThan(residual(replaced), residual(free), "replacement \(residual(replaced)), free \(residual(free))")
    }

    func test_tasks_runEndToEnd_andTextOptionsAreRefused() throws {
        let model = try Self.model.get()
        var fill = [Float](repeating: 0, count: 30 * 20)
        for i in 0..<200 { fill[i] = 1 }
        let odd = Tensor(shape: [1, 3, 30, 20], values: Array(image.toArray().prefix(1800)))
        var inpainting = InpaintingParameters()
        inpainting.sampler.steps = 2
        XCTAssertEqual(try model.inpaint(image: odd, fillMask: Tensor(shape: [1, 1, 30, 20], values: fill), parameters: inpainting).shape,
                       [1, 3, 30, 20])
        var superResolution = SuperResolutionParameters()
        superResolution.sampler.steps = 2
        superResolution.sampler.newtonSteps = 2
        let low = try BicubicResizer(scale: 0.5)(image)
        XCTAssertEqual(try model.superResolve(image: low, factor: 2, parameters: superResolution).shape, [1, 3, 32, 32])
        inpainting.prompt = "a cat"
        XCTAssertThrowsError(try model.inpaint(image: odd, fillMask: Tensor(shape: [1, 1, 30, 20], values: fill), parameters: inpainting)) {
            XCTAssertTrue("\($0)".contains("no text conditioning"), "\($0)")
        }
    }

    /// A denoiser that returns its input: tiling it must give the input back, whatever the tiles.
    private struct Echo: NoisePredictor {
        var downsamplings: Int { 0 }
        func predictNoise(_ sample: Tensor, timestep: Float, conditioning: Conditioning?, guidanceWeight: Float?, in arena: ScratchArena) -> Tensor {
            Tensor(shape: sample.shape, values: sample.toArray())
        }
        func estimatedWorkingSetBytes(height: Int, width: Int, batch: Int) -> Int { 4 * 3 * height * width * batch }
    }

    func test_tiles_coverTheImage_andBlendToAPartitionOfUnity() {
        let tiled = TiledNoisePredictor(Echo(), tile: 32, overlap: 8, batch: 3)
        XCTAssertEqual(tiled.origins(32), [0])
        XCTAssertEqual(tiled.origins(100), [0, 24, 48, 68])
        var random = NormalGenerator(seed: 9)
        let x = random.tensor([1, 3, 70, 100])
        let out = tiled.predictNoise(x, timestep: 500, conditioning: nil, in: ScratchArena())
        let error = zip(out.toArray(), x.toArray()).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(error, 1e-5)
    }

    func test_tiledPrediction_equalsTheDirectOneWithinATile_andRunsBeyond() throws {
        let model = try Self.model.get()
        let tiled = try XCTUnwrap(model.denoiser as? TiledNoisePredictor)
        let arena = ScratchArena()
        XCTAssertEqual(tiled.predictNoise(image, timestep: 300, conditioning: nil, in: arena).toArray(),
                       tiled.denoiser.predictNoise(image, timestep: 300, conditioning: nil, in: arena).toArray())
        var random = NormalGenerator(seed: 2)
        let large = random.tensor([1, 3, 48, 80])
        let out = tiled.predictNoise(large, timestep: 300, conditioning: nil, in: arena)
        XCTAssertEqual(out.shape, [1, 3, 48, 80])
        XCTAssertTrue(out.toArray().allSatisfy(\.isFinite))
    }

    /// Each tile is its own forward whatever the batch it travels in, so the blend of a step's
    /// tiles is the same bits one at a time, in groups, or all in one call.
    func test_tiledPrediction_doesNotDependOnTheBatch() throws {
        let unet = try XCTUnwrap((try Self.model.get().denoiser as? TiledNoisePredictor)?.denoiser)
        var random = NormalGenerator(seed: 3)
        let x = random.tensor([1, 3, 56, 72]), arena = ScratchArena()
        func predicted(batch: Int) -> [Float] {
            TiledNoisePredictor(unet, tile: 32, overlap: 8, batch: batch).predictNoise(x, timestep: 400, conditioning: nil, in: arena).toArray()
        }
        let single = predicted(batch: 1)
        XCTAssertEqual(predicted(batch: 4), single)
        XCTAssertEqual(predicted(batch: 9), single, "all 9 tiles in one call")
    }
}
