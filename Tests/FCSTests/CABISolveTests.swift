import CFCS
import FCS
import XCTest

/// fcs_solve: deblurring, colourisation and the caller's callback through the C ABI, on the tiny
/// pixel-space model.
final class CABISolveTests: XCTestCase {
    private static let model = Result { try LoadedModel(Fixtures.tinyPixelSpace) }

    /// What a test's callback saw, and what it should do.
    final class CallbackLog {
        var calls = 0, sizes: Set<[Int32]> = []
        var returning: Int32 = 0
        var weight: Float = 1
    }

    /// Moves every pixel towards mid-grey, the left half weighted by the log's weight.
    private static let towardsGrey: fcs_constraint_callback = { estimate, change, weight, userData in
        guard let estimate = estimate?.pointee, let change = change?.pointee, let weight = weight?.pointee, let userData else { return -1 }
        let log = Unmanaged<CallbackLog>.fromOpaque(userData).takeUnretainedValue()
        log.calls += 1
        log.sizes.insert([estimate.width, estimate.height, estimate.channels, change.channels, weight.channels])
        let (width, height) = (Int(estimate.width), Int(estimate.height))
        let x = estimate.data!.assumingMemoryBound(to: Float.self), d = change.data!.assumingMemoryBound(to: Float.self)
        let w = weight.data!.assumingMemoryBound(to: Float.self)
        for i in 0..<(width * height) {
            for c in 0..<3 { d[3 * i + c] = 0.5 - x[3 * i + c] }
            if i % width < width / 2 { w[i] = log.weight }
        }
        return log.returning
    }

    private func solve(_ constraint: fcs_constraint, image: TestImage?, params: fcs_sample_params = quickParams()) -> (fcs_status, fcs_image) {
        var (constraint, params, out) = (constraint, params, fcs_image())
        let model = try? Self.model.get()
        let status = image.map { $0.withDescriptor { fcsSolve(model?.handle, $0, &constraint, &params, &out) } }
            ?? fcsSolve(model?.handle, nil, &constraint, &params, &out)
        return (status, out)
    }

    func test_blurs_returnTheImagesSizeAndFormat() throws {
        _ = try Self.model.get()
        let kernel = TestImage(width: 5, height: 1, channels: 1, value: 255)
        try kernel.withDescriptor { kernelDescriptor in
            for kind in [FCS_CONSTRAINT_GAUSSIAN_BLUR, FCS_CONSTRAINT_KERNEL_BLUR] {
                var constraint = fcsConstraintDefault()
                (constraint.kind, constraint.sigma, constraint.kernel) = (kind, 1.5, kernelDescriptor)
                var (out, params) = (fcs_image(), quickParams())
                let image = TestImage(width: 20, height: 12, channels: 4)
                let status = image.withDescriptor { fcsSolve(try! Self.model.get().handle, $0, &constraint, &params, &out) }
                XCTAssertEqual(status, FCS_OK, lastError)
                XCTAssertEqual([out.width, out.height, out.channels, Int32(out.format.rawValue)], [20, 12, 4, Int32(FCS_PIXEL_U8.rawValue)])
                XCTAssertTrue(pixels(out).enumerated().filter { $0.offset % 4 == 3 }.allSatisfy { $0.element == image.bytes[$0.offset] },
                              "alpha is kept")
                fcsImageFree(&out)
            }
        }
    }

    func test_luminance_colorsAGreyImage_keepingItsLuminance() throws {
        _ = try Self.model.get()
        var constraint = fcsConstraintDefault()
        constraint.kind = FCS_CONSTRAINT_LUMINANCE
        let grey = TestImage(width: 16, height: 16, channels: 1)
        var (status, out) = solve(constraint, image: grey)
        XCTAssertEqual(status, FCS_OK, lastError)
        XCTAssertEqual([out.width, out.height, out.channels], [16, 16, 3])
        let rgb = pixels(out)
        for i in 0..<256 {
            let luma = 0.299 * Float(rgb[3 * i]) + 0.587 * Float(rgb[3 * i + 1]) + 0.114 * Float(rgb[3 * i + 2])
            XCTAssertEqual(luma, Float(grey.bytes[i]), accuracy: 1, "pixel \(i)")  // U8 rounding of each channel
        }
        fcsImageFree(&out)
    }

    func test_callback_seesTheEstimate_andItsChangeSteersTheResult() throws {
        _ = try Self.model.get()
        let log = CallbackLog()
        var constraint = fcsConstraintDefault()
        (constraint.kind, constraint.callback, constraint.callback_user_data) = (FCS_CONSTRAINT_CALLBACK, Self.towardsGrey, Unmanaged.passUnretained(log).toOpaque())
        (constraint.width, constraint.height) = (20, 12)
        var params = quickParams()
        var rate: Float = 0.5  // the random model's x̂0 moves little at the pixel-space default
        (params.steps, params.newton_steps, params.n_learning_rates) = (4, 10, 1)
        var (status, out) = withUnsafePointer(to: &rate) { rate in
            params.learning_rates = rate
            return solve(constraint, image: nil, params: params)
        }
        XCTAssertEqual(status, FCS_OK, lastError)
        XCTAssertEqual(log.calls, 40)
        XCTAssertEqual(log.sizes, [[20, 12, 3, 3, 1]], "at the request's size (not the padded one)")
        XCTAssertEqual([out.width, out.height, out.channels, Int32(out.format.rawValue)], [20, 12, 3, Int32(FCS_PIXEL_F32.rawValue)])
        func distanceFromGrey(_ image: fcs_image) -> Float {
            let values = UnsafeBufferPointer(start: image.data!.assumingMemoryBound(to: Float.self), count: 20 * 12 * 3)
            return values.map { abs($0 - 0.5) }.reduce(0, +)
        }
        let steered = distanceFromGrey(out)
        fcsImageFree(&out)
        params.newton_steps = 0
        params.learning_rates = nil
        (status, out) = solve(constraint, image: nil, params: params)
        XCTAssertEqual(log.calls, 40, "no inner steps, no calls")
        XCTAssertLessThan(steered, 0.8 * distanceFromGrey(out), "the result is pulled towards grey")
        fcsImageFree(&out)
    }

    func test_callbackErrors_cancelCleanly_andBadValuesAreRefused() throws {
        _ = try Self.model.get()
        let log = CallbackLog()
        var constraint = fcsConstraintDefault()
        (constraint.kind, constraint.callback, constraint.callback_user_data) = (FCS_CONSTRAINT_CALLBACK, Self.towardsGrey, Unmanaged.passUnretained(log).toOpaque())
        log.returning = 3
        var (status, out) = solve(constraint, image: TestImage(width: 8, height: 8, channels: 3))
        XCTAssertEqual(status, FCS_CANCELLED)
        XCTAssertTrue(lastError.contains("returned 3"), lastError)
        XCTAssertNil(out.data)
        (log.returning, log.weight) = (0, -1)
        (status, out) = solve(constraint, image: TestImage(width: 8, height: 8, channels: 3))
        XCTAssertEqual(status, FCS_ERROR_INVALID_ARGUMENT)
        XCTAssertTrue(lastError.contains("weight"), lastError)
        log.weight = 1
        XCTAssertEqual(solve(constraint, image: TestImage(width: 8, height: 8, channels: 3)).0, FCS_OK, "the model stays usable: \(lastError)")
    }

    func test_badDescriptions_areRefusedNamingTheField() throws {
        _ = try Self.model.get()
        let image = TestImage(width: 8, height: 8, channels: 3), even = TestImage(width: 4, height: 3, channels: 1)
        var cases: [(fcs_constraint, String)] = []
        var c = fcsConstraintDefault()
        c.sigma = 0; cases.append((c, "sigma"))
        c.sigma = .nan; cases.append((c, "sigma"))
        c = fcsConstraintDefault(); c.kind = FCS_CONSTRAINT_KERNEL_BLUR; cases.append((c, "constraint.kernel is NULL"))
        c = fcsConstraintDefault(); c.kind = FCS_CONSTRAINT_CALLBACK; cases.append((c, "constraint.callback"))
        c = fcsConstraintDefault(); c.kind = fcs_constraint_kind(rawValue: 9); cases.append((c, "constraint.kind"))
        for (constraint, word) in cases {
            let (status, out) = solve(constraint, image: image)
            XCTAssertEqual(status, FCS_ERROR_INVALID_ARGUMENT, word)
            XCTAssertTrue(lastError.contains(word), "\(word): \(lastError)")
            XCTAssertNil(out.data)
        }
        try even.withDescriptor { kernel in
            var constraint = fcsConstraintDefault()
            (constraint.kind, constraint.kernel) = (FCS_CONSTRAINT_KERNEL_BLUR, kernel)
            XCTAssertEqual(solve(constraint, image: image).0, FCS_ERROR_INVALID_ARGUMENT)
            XCTAssertTrue(lastError.contains("odd"), lastError)
        }
        var constraint = fcsConstraintDefault()
        XCTAssertEqual(solve(constraint, image: nil).0, FCS_ERROR_INVALID_ARGUMENT, "blurs need an image")
        XCTAssertTrue(lastError.contains("image is NULL"), lastError)
        constraint.kind = FCS_CONSTRAINT_CALLBACK
        constraint.callback = Self.towardsGrey
        XCTAssertEqual(solve(constraint, image: nil).0, FCS_ERROR_INVALID_ARGUMENT, "a callback without image or size")
        XCTAssertTrue(lastError.contains("width"), lastError)
        var out = fcs_image()
        XCTAssertEqual(image.withDescriptor { fcsSolve(try! Self.model.get().handle, $0, nil, nil, &out) }, FCS_ERROR_INVALID_ARGUMENT)
        XCTAssertTrue(lastError.contains("constraint is NULL"), lastError)
    }
}
