import FCSModels
import FCSSampler
import FCSTensor
import Foundation
import XCTest

/// The outer schedulers against diffusers' DPMSolverMultistepScheduler and LCMScheduler, the
/// scheduler alone: `step` on fixed model outputs (tools/make_scheduler_fixtures.py).
final class SchedulerParityTests: XCTestCase {
    private let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/schedulers.safetensors").path

    private struct Case: Decodable {
        let scheduler: String
        let steps: Int
    }

    func test_stepsOnFixedOutputs_matchDiffusers() throws {
        let file = try SafeTensorsFile(path: fixture)
        XCTAssertEqual(file.metadata.count, 11)
        for (name, json) in file.metadata.sorted(by: { $0.key < $1.key }) {
            let description = try JSONDecoder().decode(Case.self, from: Data(json.utf8))
            // the case's config, as a model folder's scheduler_config.json would give it
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            let config = try JSONDecoder().decode(SchedulerConfig.self, from: JSONSerialization.data(withJSONObject: object["config"]!))
            let sampler: OuterSampler = description.scheduler == "LCMScheduler" ? .lcm : .dpmSolverPlusPlus2M
            let scheduler = try sampler.scheduler(config)
            let timesteps = try scheduler.timesteps(steps: description.steps)
            XCTAssertEqual(timesteps.map { $0 - 1 }, try file.tensor("\(name).timesteps").toArray().map { Int($0) }, name)
            var run = scheduler.makeRun(timesteps: timesteps)
            var x = try file.tensor("\(name).x_T").toArray()
            for (i, t) in timesteps.enumerated() {
                let output = try file.tensor("\(name).output_\(i)").toArray()
                let noise = file.contains("\(name).noise_\(i)") ? try file.tensor("\(name).noise_\(i)").toArray() : x.map { _ in 0 }
                let (x0, epsilon) = scheduler.prediction(sample: x, modelOutput: output, timestep: t)
                x = run.step(index: i, sample: x, x0: x0, epsilon: epsilon, noise: noise)
                let expected = try file.tensor("\(name).sample_\(i)").toArray()
                let error = zip(x, expected).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? .nan
                // diffusers' ᾱ is a float32 cumprod, fcs's a float64 one rounded: 2.5e-5 after 20 steps
                XCTAssertLessThanOrEqual(error, 5e-5, "\(name) step \(i): max relative error \(error)")
            }
        }
    }

    func test_stepCounts_theSchedulersCannotSpace_areErrors() throws {
        XCTAssertThrowsError(try LCMScheduler().timesteps(steps: 51), "more steps than original_inference_steps")
        XCTAssertThrowsError(try LCMScheduler().timesteps(steps: 0))
        XCTAssertThrowsError(try DPMSolverMultistepScheduler().timesteps(steps: 1001))
        XCTAssertThrowsError(try DPMSolverMultistepScheduler().timesteps(steps: 0))
        XCTAssertEqual(try DPMSolverMultistepScheduler(timestepSpacing: "trailing").timesteps(steps: 61).count, 61)
    }
}

/// The constrained sampler with DPM-Solver++(2M) and LCM as the outer step, end to end on the tiny
/// SD model, against tools/reference_sampler.py (its loop with diffusers' schedulers' `step`).
final class OuterSamplerTests: XCTestCase {
    private let referencePath = TinySD.tests.appendingPathComponent("FCSSamplerTests/Fixtures/outer_reference.safetensors").path
    private let inputsPath = TinySD.tests.appendingPathComponent("FCSSamplerTests/Fixtures/inpaint_reference.safetensors").path

    func test_finalLatents_matchTheReferenceWithDiffusersSchedulers() throws {
        struct Newton: Decodable { let newton_steps: Int, learning_rates: [Float], h: Float }
        let model = try TinySD.model.get()
        let reference = try SafeTensorsFile(path: referencePath), inputs = try SafeTensorsFile(path: inputsPath)
        let cases = try JSONDecoder().decode([String: Int].self, from: Data(reference.metadata["cases"]!.utf8))
        let newton = try JSONDecoder().decode(Newton.self, from: Data(reference.metadata["newton"]!.utf8))
        let constraint = try InpaintingConstraint(image: try inputs.tensor("image"), fillMask: try inputs.tensor("fill_mask"), codec: try model.vae.resident())
        let text = Conditioning(textStates: try model.textEncoder([model.tokenizer("")], in: ScratchArena()).copy())
        XCTAssertEqual(cases.count, 2)
        for (name, steps) in cases {
            let sampler = try XCTUnwrap(OuterSampler(rawValue: name))
            var parameters = SamplerParameters()
            (parameters.steps, parameters.outerSampler) = (steps, sampler)
            (parameters.newtonSteps, parameters.learningRates, parameters.finiteDifferenceStep) = (newton.newton_steps, newton.learning_rates, newton.h)
            let noise = try SamplerNoise(initialLatent: try inputs.tensor("x_T"),
                                         stepNoise: (0..<steps).map { i throws in try reference.tensor("\(name).z_\(i)") })
            let x0 = try ConstrainedSampler(unet: model.unet, scheduler: sampler.scheduler(model.schedulerConfig))
                .sample(constraint: constraint, conditioning: text, noise: noise, parameters: parameters).toArray()
            let expected = try reference.tensor("\(name).x0").toArray()
            let scale = expected.map(abs).max()!, error = zip(x0, expected).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(error, 1e-3 * scale, "\(name): max |error| \(error), scale \(scale)")
        }
    }
}

/// A network that takes w itself gets it with every forward, in batches of one.
final class EmbeddedGuidanceTests: XCTestCase {
    final class Recorder: NoisePredictor, @unchecked Sendable {  // one test thread
        var calls: [(batch: Int, weight: Float?)] = []
        var downsamplings: Int { 0 }
        var embedsGuidance: Bool { true }
        func predictNoise(_ sample: Tensor, timestep: Float, conditioning: Conditioning?, guidanceWeight: Float?, in arena: ScratchArena) -> Tensor {
            calls.append((sample.shape[0], guidanceWeight))
            return Tensor(shape: sample.shape, values: sample.toArray().map { 0.1 * $0 })
        }
        func estimatedWorkingSetBytes(height: Int, width: Int, batch: Int) -> Int { 0 }
    }

    func test_theGuidanceWeight_goesToTheNetwork_notToAGuidanceBatch() throws {
        let recorder = Recorder()
        let constraint = try InpaintingConstraint(image: Tensor(zeros: [1, 3, 8, 8]), fillMask: Tensor(zeros: [1, 1, 8, 8]), codec: IdentityCodec())
        var parameters = SamplerParameters()
        (parameters.steps, parameters.newtonSteps, parameters.guidanceScale, parameters.outerSampler) = (4, 1, 7.5, .lcm)
        XCTAssertFalse(parameters.usesClassifierFreeGuidance(recorder))
        let text = Conditioning(textStates: Tensor(zeros: [1, 77, 8]))
        _ = try ConstrainedSampler(unet: recorder, scheduler: LCMScheduler()).sample(
            constraint: constraint, conditioning: text, noise: .seeded(1, shape: [1, 3, 8, 8], steps: 4), parameters: parameters)
        XCTAssertFalse(recorder.calls.isEmpty)
        XCTAssertTrue(recorder.calls.allSatisfy { $0.batch == 1 && $0.weight == 7.5 }, "\(recorder.calls)")
    }
}
