// Regression tests through the C ABI for the defects of the reliability review: each one
// crashed or misbehaved inside a host process before its fix.
import CFCS
import FCS
import FCSModels
import FCSSampler
import FCSTensor
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class CABIReliabilityTests: XCTestCase {
    static let tinySD = Result { try LoadedModel(Fixtures.tinySD) }
    static let pixelSpace = Result { try LoadedModel(Fixtures.tinyPixelSpace) }

    private func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "fcs-abi-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// A noise file with x_T and `steps` z's of `shape`.
    private func noiseFile(shape: [Int], steps: Int, in folder: String) throws -> String {
        var generator = NormalGenerator(seed: 9)
        var tensors = ["x_T": generator.tensor(shape)]
        for i in 0..<steps { tensors["z_\(i)"] = generator.tensor(shape) }
        let path = folder + "/noise-\(shape.map(String.init).joined(separator: "x")).safetensors"
        try SafeTensorsWriter.write(tensors, to: path)
        return path
    }

    // Defect 1: the ABI checked a noise file against the whole image's latents, then the context
    // window's smaller sampler read past its buffers.
    func test_noiseFile_withContextCrop_isCheckedAgainstTheWindow() throws {
        let model = try Self.tinySD.get()
        let folder = try temporaryFolder()
        let (width, height) = (1100, 64)
        let image = TestImage(width: width, height: height, channels: 3)
        let mask = TestImage(width: width, height: height, channels: 1, value: 0)
        for y in 16..<48 { for x in 500..<532 { mask.bytes[y * width + x] = 255 } }
        var params = quickParams()
        params.context_size = 64
        var out = fcs_image()
        // the whole padded image's latents (what the ABI used to accept): refused, not read out of bounds
        let whole = try noiseFile(shape: [1, 4, 8, 1152 / 8], steps: 2, in: folder)
        let status = whole.withCString { path in
            params.noise_path = path
            return image.withDescriptor { i in mask.withDescriptor { m in fcsInpaint(model.handle, i, m, &params, &out) } }
        }
        XCTAssertEqual(status, FCS_ERROR_INVALID_ARGUMENT)
        XCTAssertTrue(lastError.contains("this request samples latents of [1, 4, 8, 8]"), lastError)
        // the window's latents (a 96×64 window shrunk by 2 and padded to 64×64) run
        let window = try noiseFile(shape: [1, 4, 8, 8], steps: 2, in: folder)
        let ok = window.withCString { path in
            params.noise_path = path
            return image.withDescriptor { i in mask.withDescriptor { m in fcsInpaint(model.handle, i, m, &params, &out) } }
        }
        XCTAssertEqual(ok, FCS_OK, lastError)
        XCTAssertEqual([out.width, out.height], [Int32(width), Int32(height)])
        // outside the window the pixels are the caller's
        let result = pixels(out)
        XCTAssertEqual(result[0..<300], image.bytes[0..<300])
        fcsImageFree(&out)
    }

    // Defect 2 and 6: a result the ABI accepted (up to 2^28 pixels) trapped in Conv2d or ran for
    // hours; what is over the sampling limit is refused up front, naming it.
    func test_oversizedSuperResolution_isRefused_withTheLimit() throws {
        let model = try Self.tinySD.get()
        for (side, scale) in [(768, Int32(4)), (2000, Int32(8))] {
            let image = TestImage(width: side, height: side, channels: 3, value: 100)
            var params = quickParams(), out = fcs_image()
            let status = image.withDescriptor { fcsSuperResolve(model.handle, $0, scale, &params, &out) }
            XCTAssertEqual(status, FCS_ERROR_INVALID_ARGUMENT, "\(side)² ×\(scale)")
            XCTAssertTrue(lastError.contains("maximum of 4194304 (2048×2048)"), lastError)
            XCTAssertNil(out.data)
        }
    }

    func test_oversizedLayerExtraction_andInpaintingWithoutContextWindow_areRefused() throws {
        let model = try Self.tinySD.get()
        let image = TestImage(width: 2112, height: 2048, channels: 1, value: 10)
        var layerParams = fcsLayerParamsDefault()
        var l1 = fcs_image(), l2 = fcs_image(), m = fcs_image()
        XCTAssertEqual(image.withDescriptor { fcsExtractLayers(model.handle, $0, &layerParams, &l1, &l2, &m) }, FCS_ERROR_INVALID_ARGUMENT)
        XCTAssertTrue(lastError.contains("layer extraction"), lastError)
        let mask = TestImage(width: 2112, height: 2048, channels: 1, value: 255)
        var params = quickParams(), out = fcs_image()
        params.context_crop_above = 0  // sample the whole image
        XCTAssertEqual(image.withDescriptor { i in mask.withDescriptor { fcsInpaint(model.handle, i, $0, &params, &out) } },
                       FCS_ERROR_INVALID_ARGUMENT)
        XCTAssertTrue(lastError.contains("context window"), lastError)
    }

    // Memory: a request whose working set is over what the process may use is refused with the estimate.
    func test_requestOverTheAvailableMemory_isOutOfMemory() throws {
        let model = try Self.tinySD.get()
        setenv("FCS_MEMORY_AVAILABLE", "1000000", 1)
        defer { unsetenv("FCS_MEMORY_AVAILABLE") }
        let image = TestImage(width: 64, height: 64, channels: 3), mask = TestImage(width: 64, height: 64, channels: 1, value: 255)
        var params = quickParams(), out = fcs_image()
        XCTAssertEqual(image.withDescriptor { i in mask.withDescriptor { fcsInpaint(model.handle, i, $0, &params, &out) } }, FCS_ERROR_OUT_OF_MEMORY)
        XCTAssertTrue(lastError.contains("GiB of working memory, but only 0.0 GiB are available"), lastError)
    }

    // Defect 5: impossible descriptors were read until the process segfaulted.
    func test_impossibleDescriptors_areRefused_byTheirNumbers() throws {
        let model = try Self.pixelSpace.get()
        let small = TestImage(width: 4, height: 4, channels: 3)
        var params = quickParams(), out = fcs_image()
        let cases: [(width: Int32, height: Int32, stride: Int, message: String)] = [
            (16384, 16384, Int(bitPattern: UInt.max), "16384 rows of stride 18446744073709551615 bytes do not fit"),  // SIZE_MAX, unsigned
            (16384, 16384, 1 << 50, "16384 rows of stride 1125899906842624 bytes do not fit in memory"),
            (16384, 16384, Int.max / 8, "do not fit in memory"),
            (3, 3, 1 << 47, "row 1 of 3 (stride 140737488355328 bytes) is not in this process's memory"),
            (4, 4, 11, "image.stride is 11 bytes, less than a row (12)"),
            (-4, 4, 0, "image is -4×4"),
            (20000, 20000, 0, "more than 2^28 pixels"),
        ]
        for c in cases {
            let status = small.bytes.withUnsafeMutableBytes { raw -> fcs_status in
                var image = fcs_image(width: c.width, height: c.height, channels: 3, format: FCS_PIXEL_U8, stride: c.stride, data: raw.baseAddress)
                return fcsSuperResolve(model.handle, &image, 2, &params, &out)
            }
            XCTAssertEqual(status, FCS_ERROR_INVALID_ARGUMENT, c.message)
            XCTAssertTrue(lastError.contains(c.message), "\(lastError) should say \(c.message)")
        }
        // a descriptor taller than its buffer, which ends where the process's memory does
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let pages = mmap(nil, 2 * pageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
        XCTAssertEqual(munmap(pages + pageSize, pageSize), 0)
        defer { munmap(pages, pageSize) }
        var tall = fcs_image(width: 64, height: 40, channels: 3, format: FCS_PIXEL_U8, stride: 0, data: pages)
        XCTAssertEqual(fcsSuperResolve(model.handle, &tall, 2, &params, &out), FCS_ERROR_INVALID_ARGUMENT)
        XCTAssertTrue(lastError.contains("row \(pageSize / 192) of 40 (stride 0 bytes) is not in this process's memory"), lastError)
        // a descriptor whose last row would wrap around the address space
        var wrapping = fcs_image(width: 4, height: 3, channels: 3, format: FCS_PIXEL_U8, stride: 1 << 62,
                                 data: UnsafeMutableRawPointer(bitPattern: UInt(1) << 63))
        XCTAssertEqual(fcsSuperResolve(model.handle, &wrapping, 2, &params, &out), FCS_ERROR_INVALID_ARGUMENT)
        XCTAssertTrue(lastError.contains("do not fit in memory"), lastError)
        var badFormat = fcs_image(width: 4, height: 4, channels: 3, format: fcs_pixel_format(rawValue: 7), stride: 0, data: nil)
        small.bytes.withUnsafeMutableBytes { badFormat.data = $0.baseAddress
            XCTAssertEqual(fcsSuperResolve(model.handle, &badFormat, 2, &params, &out), FCS_ERROR_INVALID_ARGUMENT) }
        XCTAssertTrue(lastError.contains("format is 7"), lastError)
    }

    /// Messages quote the caller's strings, escaping control characters: always one line.
    func test_lastError_isOneLine_evenForPathsWithNewlines() {
        var model: OpaquePointer?
        XCTAssertNotEqual(fcsModelLoad("/nowhere/a\nb\tc", nil, &model), FCS_OK)
        XCTAssertFalse(lastError.contains("\n"), lastError)
        XCTAssertTrue(lastError.contains(#"a\nb\tc"#), lastError)
        XCTAssertNil(model)
    }

    // Defect 3: every restart's log-likelihood NaN force-unwrapped nil; a model whose weights
    // are NaN must end in an error.
    func test_modelWithNaNWeights_givesAnError_inEveryTask() throws {
        let folder = try temporaryFolder() + "/nan-model"
        try FileManager.default.copyItem(atPath: Fixtures.tinyPixelSpace, toPath: folder)
        let weightsPath = folder + "/unet/diffusion_pytorch_model.safetensors"
        let file = try SafeTensorsFile(path: weightsPath)
        var tensors: [String: Tensor] = [:]
        for name in file.names {
            let t = try file.tensor(name)
            tensors[name] = Tensor(shape: t.shape, values: [Float](repeating: .nan, count: t.count))
        }
        try FileManager.default.removeItem(atPath: weightsPath)
        try SafeTensorsWriter.write(tensors, to: weightsPath)
        let model = try LoadedModel(folder)
        let image = TestImage(width: 32, height: 32, channels: 3), mask = TestImage(width: 32, height: 32, channels: 1, value: 255)
        var params = quickParams(), out = fcs_image()
        XCTAssertEqual(image.withDescriptor { i in mask.withDescriptor { fcsInpaint(model.handle, i, $0, &params, &out) } }, FCS_ERROR_FORMAT)
        XCTAssertTrue(lastError.contains("not finite"), lastError)
        XCTAssertEqual(image.withDescriptor { fcsSuperResolve(model.handle, $0, 2, &params, &out) }, FCS_ERROR_FORMAT)
        var layerParams = fcsLayerParamsDefault()
        (layerParams.sample.steps, layerParams.sample.newton_steps) = (1, 0)
        (layerParams.iterations, layerParams.samples_per_layer, layerParams.restarts) = (1, 1, 1)
        var l1 = fcs_image(), l2 = fcs_image(), m = fcs_image()
        XCTAssertEqual(image.withDescriptor { fcsExtractLayers(model.handle, $0, &layerParams, &l1, &l2, &m) }, FCS_ERROR_FORMAT)
        XCTAssertNil(l1.data)
    }

    // Defect 4: 3 steps stopped at t = 334 and decoded a blurry x̂0; through the ABI any step count runs.
    func test_stepCountsThatDoNotDivide1000_run() throws {
        let model = try Self.pixelSpace.get()
        let image = TestImage(width: 32, height: 32, channels: 3), mask = TestImage(width: 32, height: 32, channels: 1, value: 255)
        for steps in [Int32(3), 7] {
            var params = quickParams(), out = fcs_image()
            params.steps = steps
            XCTAssertEqual(image.withDescriptor { i in mask.withDescriptor { fcsInpaint(model.handle, i, $0, &params, &out) } }, FCS_OK, lastError)
            fcsImageFree(&out)
        }
    }

    // Defect 7 and cancellation: the callback is asked before every network forward (layer
    // extraction included), a non-zero answer returns FCS_CANCELLED, and the model keeps working.
    func test_progress_cancelsWithinOneForward_andTheModelKeepsWorking() throws {
        let model = try Self.pixelSpace.get()
        final class Calls { var steps: [Int32] = []; var stopAt = Int.max }
        let calls = Calls()
        let callback: fcs_progress_callback = { step, total, userData in
            let calls = Unmanaged<Calls>.fromOpaque(userData!).takeUnretainedValue()
            calls.steps.append(step)
            return calls.steps.count >= calls.stopAt ? 1 : 0
        }
        let image = TestImage(width: 32, height: 32, channels: 3)
        var layerParams = fcsLayerParamsDefault()
        (layerParams.sample.steps, layerParams.sample.newton_steps) = (2, 1)
        (layerParams.iterations, layerParams.samples_per_layer, layerParams.restarts) = (2, 1, 1)
        layerParams.block_size = 16
        layerParams.sample.progress = callback
        layerParams.sample.user_data = Unmanaged.passUnretained(calls).toOpaque()
        var l1 = fcs_image(), l2 = fcs_image(), m = fcs_image()
        XCTAssertEqual(image.withDescriptor { fcsExtractLayers(model.handle, $0, &layerParams, &l1, &l2, &m) }, FCS_OK, lastError)
        // 2 iterations × 2 layers × 1 sample × 2 steps = 8 steps, asked far more often than once per iteration
        XCTAssertEqual(calls.steps.last, 8)
        XCTAssertGreaterThan(calls.steps.count, 8 * 4)
        (fcsImageFree(&l1), fcsImageFree(&l2), fcsImageFree(&m))

        calls.steps = []
        calls.stopAt = 5
        XCTAssertEqual(image.withDescriptor { fcsExtractLayers(model.handle, $0, &layerParams, &l1, &l2, &m) }, FCS_CANCELLED)
        XCTAssertEqual(calls.steps.count, 5, "nothing runs after the callback said stop")
        XCTAssertNil(l1.data)
        layerParams.sample.progress = nil
        XCTAssertEqual(image.withDescriptor { fcsExtractLayers(model.handle, $0, &layerParams, &l1, &l2, &m) }, FCS_OK, lastError)
        (fcsImageFree(&l1), fcsImageFree(&l2), fcsImageFree(&m))
    }
}
