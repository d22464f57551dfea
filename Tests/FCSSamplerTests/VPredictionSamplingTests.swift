import FCSModels
@testable import FCSSampler
import FCSTensor
import Foundation
import XCTest

/// Inpainting with a v-prediction model (tools/make_tiny_sd2.py's tiny SD 2.x, 768-v shaped) against
/// tools/reference_sampler.py's sample(prediction_type="v_prediction") with the same injected noise.
final class VPredictionSamplingTests: XCTestCase {
    private let folder = TinySD.tests.appendingPathComponent("FCSModelsTests/Fixtures/tiny-sd2").path

    func test_finalLatents_matchTheReferenceImplementation() throws {
        let model = try StableDiffusion.load(folder, options: StableDiffusion.LoadOptions(compute: .float32))
        let referencePath = folder + "/reference.safetensors"
        let reference = try SafeTensorsFile(path: referencePath)
        let steps = Int(reference.metadata["steps"]!)!
        let cases = try JSONDecoder().decode([String: ConstrainedSamplerTests.Case].self, from: Data(reference.metadata["cases"]!.utf8))
        let constraint = try InpaintingConstraint(image: try reference.tensor("image"), fillMask: try reference.tensor("fill_mask"), codec: try model.vae.resident())
        let noise = try SamplerNoise(contentsOf: referencePath, steps: steps)
        // the model's own scheduler config picks v-prediction, as the tasks build the sampler
        let scheduler = try OuterSampler.paper.scheduler(model.schedulerConfig)
        XCTAssertEqual(scheduler.predictionType, .vPrediction)
        let sampler = ConstrainedSampler(unet: model.unet, scheduler: scheduler)
        func states(_ prompt: String) throws -> Conditioning {
            Conditioning(textStates: try model.textEncoder([model.tokenizer(prompt)], in: ScratchArena()).copy())
        }
        XCTAssertEqual(cases.count, 2)
        for (name, c) in cases {
            var parameters = SamplerParameters()
            parameters.steps = steps
            parameters.newtonSteps = c.newton_steps
            parameters.learningRates = c.learning_rates
            parameters.finiteDifferenceStep = c.h
            parameters.guidanceScale = c.guidance_weight
            parameters.timestepConvention = c.convention == "official" ? .official : .consistent
            let x0 = try sampler.sample(constraint: constraint, conditioning: try states(c.prompt), unconditional: try states(""),
                                        noise: noise, parameters: parameters).toArray()
            let expected = try reference.tensor("\(name).x0").toArray()
            let scale = expected.map(abs).max()!, error = zip(x0, expected).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(error, 1e-3 * scale, "\(name): max |error| \(error), scale \(scale)")
            // read as ε-prediction, the same model gives another result: the prediction type matters here
            let asEpsilon = try ConstrainedSampler(unet: model.unet, scheduler: PaperDDIMScheduler()).sample(
                constraint: constraint, conditioning: try states(c.prompt), unconditional: try states(""), noise: noise,
                parameters: parameters).toArray()
            XCTAssertGreaterThan(zip(asEpsilon, expected).map { abs($0 - $1) }.max()!, 0.1 * scale, name)
        }
    }
}
