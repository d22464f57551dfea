import CFCS
import FCS
import FCSModels
import FCSSampler
import FCSTensor
import XCTest

/// One source of defaults: the _default() functions and the Swift parameter types both hold the
/// header's FCS_DEFAULT_* values (the vips, CLI and Python front ends are checked against the
/// header by tools/check_front_ends.py).
final class CABIDefaultsTests: XCTestCase {
    func test_sampleParamsDefault_isTheHeaderAndInpaintingParameters() {
        let c = fcsSampleParamsDefault(), swift = InpaintingParameters()
        XCTAssertEqual(c.seed, UInt64(FCS_DEFAULT_SEED))
        XCTAssertEqual(c.steps, FCS_DEFAULT_STEPS)
        XCTAssertEqual(c.newton_steps, FCS_DEFAULT_NEWTON_STEPS)
        XCTAssertEqual(c.fd_step, FCS_DEFAULT_FD_STEP)
        XCTAssertEqual(c.guidance_scale, FCS_DEFAULT_GUIDANCE_SCALE)
        XCTAssertEqual(c.official_timesteps, FCS_DEFAULT_OFFICIAL_TIMESTEPS)
        XCTAssertEqual(c.paste_back, FCS_DEFAULT_PASTE_BACK)
        XCTAssertEqual(c.seam_width, FCS_DEFAULT_SEAM_WIDTH)
        XCTAssertEqual(c.context_crop_above, FCS_DEFAULT_CONTEXT_CROP_ABOVE)
        XCTAssertEqual(c.context_size, FCS_DEFAULT_CONTEXT_SIZE)
        XCTAssertEqual(c.method.rawValue, UInt32(FCS_DEFAULT_METHOD))
        XCTAssertEqual(c.sampler.rawValue, UInt32(FCS_DEFAULT_SAMPLER))
        XCTAssertNil(c.learning_rates)
        XCTAssertNil(c.prompt)
        XCTAssertNil(c.noise_path)

        XCTAssertEqual(swift.sampler.steps, Int(c.steps))
        XCTAssertEqual(swift.sampler.newtonSteps, Int(FCS_DEFAULT_INPAINT_NEWTON_STEPS))
        XCTAssertEqual((0..<5).map { swift.sampler.learningRate(innerStep: $0) }, [0.5, 0.4, 0.3, 0.2, 0.1], accuracy: 1e-6)
        XCTAssertEqual(swift.sampler.finiteDifferenceStep, c.fd_step)
        XCTAssertEqual(swift.sampler.guidanceScale, c.guidance_scale)
        XCTAssertEqual(swift.sampler.outerSampler.cValue, c.sampler)
        XCTAssertEqual(InpaintingParameters.Method(c.method), swift.method)
        XCTAssertEqual(swift.pasteBack, c.paste_back != 0)
        XCTAssertEqual(swift.seamWidth, Int(c.seam_width))
        XCTAssertEqual(swift.contextCropAbove, Int(c.context_crop_above))
        XCTAssertEqual(swift.contextSize, Int(c.context_size))
        XCTAssertEqual(swift.seed, c.seed)
    }

    func test_taskDefaults_areTheHeaders() {
        let superResolution = SuperResolutionParameters()
        XCTAssertEqual(superResolution.sampler.newtonSteps, Int(FCS_DEFAULT_SUPER_RESOLVE_NEWTON_STEPS))
        XCTAssertEqual(superResolution.sampler.learningRates, [FCS_DEFAULT_SUPER_RESOLVE_LEARNING_RATE])
        let layers = fcsLayerParamsDefault(), swift = LayerExtractionParameters()
        XCTAssertEqual(layers.sample.steps, FCS_DEFAULT_LAYER_STEPS)
        XCTAssertEqual(swift.sampler.steps, Int(FCS_DEFAULT_LAYER_STEPS))
        XCTAssertEqual([layers.iterations, layers.samples_per_layer, layers.restarts, layers.block_size],
                       [FCS_DEFAULT_ITERATIONS, FCS_DEFAULT_SAMPLES_PER_LAYER, FCS_DEFAULT_RESTARTS, FCS_DEFAULT_BLOCK_SIZE])
        XCTAssertEqual([swift.iterations, swift.samplesPerLayer, swift.restarts, swift.initialBlockSize],
                       [layers.iterations, layers.samples_per_layer, layers.restarts, layers.block_size].map(Int.init))
        XCTAssertNil(layers.hint)
    }

    func test_modelParamsDefault_isTheHeaders() {
        let c = fcsModelParamsDefault()
        XCTAssertEqual(c.weight_type.rawValue, UInt32(FCS_DEFAULT_WEIGHT_TYPE))
        XCTAssertEqual(c.variant.rawValue, UInt32(FCS_DEFAULT_VARIANT))
        XCTAssertEqual(c.precision.rawValue, UInt32(FCS_DEFAULT_PRECISION))
        XCTAssertEqual(c.n_loras, 0)
        let swift = StableDiffusion.LoadOptions()
        XCTAssertEqual(swift.variant, StableDiffusion.Variant(c.variant))
        XCTAssertEqual(swift.precision, WeightPrecision(c.weight_type))
        XCTAssertEqual(swift.compute, ComputePrecision(c.precision))
    }

    func test_enumValues_roundTripThroughTheSwiftTypes() {
        for sampler in OuterSampler.allCases { XCTAssertEqual(OuterSampler(sampler.cValue), sampler) }
        XCTAssertNil(OuterSampler(fcs_sampler(rawValue: 3)))
        XCTAssertEqual(InpaintingParameters.Method(FCS_INPAINT_REPLACEMENT), .replacement)
        XCTAssertNil(InpaintingParameters.Method(fcs_inpaint_method(rawValue: 2)))
    }

    func test_version_isTheHeaders() {
        XCTAssertEqual(String(cString: fcsVersion()), "\(FCS_VERSION_MAJOR).\(FCS_VERSION_MINOR).\(FCS_VERSION_PATCH)")
    }
}

private func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
