import CFCS
import FCS
import FCSModels
import FCSTensor
import XCTest

/// `fcs_model_params.precision`: its names both ways, its validation, and that every loader —
/// diffusers folder, LoRA merging, pixel-space UNet, the demo model, the transport TAESD — builds
/// its networks in it: automatic is bf16 exactly where this CPU has AVX512_BF16 and fp32 exactly
/// elsewhere, bf16 changes the numbers a little.
final class CABIPrecisionTests: XCTestCase {
    func test_precisions_byNameAndValue() {
        for (value, name) in [(FCS_PRECISION_AUTO, "auto"), (FCS_PRECISION_FP32, "fp32"), (FCS_PRECISION_BF16, "bf16")] {
            XCTAssertEqual(fcsPrecisionName(value).map { String(cString: $0) }, name)
            var parsed = fcs_precision(rawValue: 99)
            XCTAssertEqual(fcsPrecisionFromName(name, &parsed), FCS_OK, lastError)
            XCTAssertEqual(parsed, value)
        }
        XCTAssertNil(fcsPrecisionName(fcs_precision(rawValue: 3)))
        var parsed = FCS_PRECISION_AUTO
        XCTAssertEqual(fcsPrecisionFromName("fp16", &parsed), FCS_ERROR_INVALID_ARGUMENT)
        XCTAssertTrue(lastError.contains("precision \"fp16\" is not one of auto, fp32, bf16"), lastError)
        XCTAssertEqual(fcsPrecisionFromName(nil, &parsed), FCS_ERROR_INVALID_ARGUMENT)
        XCTAssertEqual(fcsPrecisionFromName("bf16", nil), FCS_ERROR_INVALID_ARGUMENT)
        XCTAssertEqual(fcsModelParamsDefault().precision, FCS_PRECISION_AUTO)
    }

    func test_unknownPrecision_isRefused_namingTheField() {
        var params = fcsModelParamsDefault(), model: OpaquePointer?
        params.precision = fcs_precision(rawValue: 7)
        XCTAssertEqual(fcsModelLoad(Fixtures.tinyPixelSpace, &params, &model), FCS_ERROR_INVALID_ARGUMENT)
        XCTAssertTrue(lastError.contains("precision 7 is not an fcs_precision"), lastError)
        XCTAssertNil(model)
    }

    func test_everyLoader_buildsItsNetworksInThePrecision() throws {
        let lora = Fixtures.root.appendingPathComponent("tiny-lora/peft.safetensors").path
        // K = 0 compares the networks alone: bf16's finite-difference J·e (`fcs bench precision`)
        // is not this test's subject. The transport VAE serves only the inner steps, so K = 1 there.
        let cases: [(name: String, model: String, transport: String?, lora: String?)] = [
            ("diffusers folder", Fixtures.tinySD, nil, nil),
            ("LoRA merged", Fixtures.tinySD, nil, lora),
            ("pixel-space UNet", Fixtures.tinyPixelSpace, nil, nil),
            ("demo model", DemoModel.name, nil, nil),
            ("transport TAESD", Fixtures.tinySD, Fixtures.tinyTAESD, nil),
        ]
        for item in cases {
            let results = try [FCS_PRECISION_FP32, FCS_PRECISION_AUTO, FCS_PRECISION_BF16].map {
                try run(item.model, transport: item.transport, lora: item.lora, precision: $0)
            }
            let (fp32, automatic, bf16) = (results[0], results[1], results[2])
            XCTAssertEqual(automatic, WeightPrecision.hasBFloat16Instructions ? bf16 : fp32,
                           "\(item.name): automatic is bf16 where this CPU has AVX512_BF16, else fp32")
            XCTAssertNotEqual(bf16, fp32, "\(item.name): bf16 compute changed nothing")
            if item.transport == nil {  // measured: at most 0.036 (LoRA merged), 0.031 (pixel space)
                XCTAssertLessThan(zip(bf16, fp32).map { abs($0 - $1) }.max() ?? .infinity, 0.1, "\(item.name): bf16 is far from fp32")
            }
        }
    }

    /// Super-resolution (with a transport VAE, K = 1) or inpainting (K = 0) of a small float image, its pixels.
    private func run(_ path: String, transport: String?, lora: String?, precision: fcs_precision) throws -> [Float] {
        var params = fcsModelParamsDefault(), model: OpaquePointer?
        params.precision = precision
        let status = withOptionalCString(transport) { transportPointer in
            withOptionalCString(lora) { loraPointer in
                var paths = [loraPointer]
                return paths.withUnsafeMutableBufferPointer { buffer in
                    params.transport_vae = transportPointer
                    if loraPointer != nil { (params.lora_paths, params.n_loras) = (UnsafePointer(buffer.baseAddress), 1) }
                    return fcsModelLoad(path, &params, &model)
                }
            }
        }
        guard status == FCS_OK, let model else { throw XCTSkip("could not load \(path): \(lastError)") }
        defer { fcsModelFree(model) }
        let (width, height) = (16, 16)
        var values = (0..<(width * height * 3)).map { Float($0 % 29) / 28 }
        let mask = TestImage(width: width, height: height, channels: 1, value: 0)
        for y in 4..<12 { for x in 4..<12 { mask.bytes[y * width + x] = 255 } }
        var sample = quickParams(), out = fcs_image()
        sample.newton_steps = transport == nil ? 0 : 1
        let result = values.withUnsafeMutableBytes { raw -> fcs_status in
            var image = fcs_image(width: Int32(width), height: Int32(height), channels: 3, format: FCS_PIXEL_F32, stride: 0, data: raw.baseAddress)
            return transport == nil ? mask.withDescriptor { fcsInpaint(model, &image, $0, &sample, &out) }
                                    : fcsSuperResolve(model, &image, 2, &sample, &out)
        }
        XCTAssertEqual(result, FCS_OK, lastError)
        defer { fcsImageFree(&out) }
        guard let data = out.data else { return [] }
        return Array(UnsafeBufferPointer(start: data.assumingMemoryBound(to: Float.self), count: Int(out.width * out.height * out.channels)))
    }

    private func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
        guard let string else { return body(nil) }
        return string.withCString(body)
    }
}
