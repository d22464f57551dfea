import CFCS
import FCS
import XCTest

/// `fcs_model_params.transport_vae`: a TAESD folder loaded with the model for super-resolution's
/// inner loop.
final class CABITransportTests: XCTestCase {
    private func load(_ path: String, transport: String?) -> (fcs_status, OpaquePointer?) {
        var params = fcsModelParamsDefault(), model: OpaquePointer?
        XCTAssertNil(params.transport_vae, "the default is the model's own VAE")
        let status = withOptionalCString(transport) { pointer in
            params.transport_vae = pointer
            return fcsModelLoad(path, &params, &model)
        }
        return (status, model)
    }

    private func superResolve(_ model: OpaquePointer) throws -> [UInt8] {
        let image = TestImage(width: 8, height: 8, channels: 3)
        var params = quickParams(), out = fcs_image()
        let status = image.withDescriptor { fcsSuperResolve(model, $0, 4, &params, &out) }
        XCTAssertEqual(status, FCS_OK, lastError)
        XCTAssertEqual([out.width, out.height], [32, 32])
        defer { fcsImageFree(&out) }
        return pixels(out)
    }

    func test_transport_loads_andChangesTheSuperResolution() throws {
        let (plainStatus, plain) = load(Fixtures.tinySD, transport: nil)
        let (tinyStatus, tiny) = load(Fixtures.tinySD, transport: Fixtures.tinyTAESD)
        XCTAssertEqual(plainStatus, FCS_OK, lastError)
        XCTAssertEqual(tinyStatus, FCS_OK, lastError)
        guard let plain, let tiny else { return }
        defer { fcsModelFree(plain); fcsModelFree(tiny) }
        XCTAssertNotEqual(try superResolve(plain), try superResolve(tiny))
    }

    func test_badTransport_isAnError_namingIt() throws {
        for (path, transport, code, word) in [
            (Fixtures.tinySD, "/nonexistent/taesd", FCS_ERROR_IO, "/nonexistent/taesd"),
            (Fixtures.tinySD, Fixtures.tinySD + "/vae", FCS_ERROR_FORMAT, "must describe a AutoencoderTiny"),
            (Fixtures.tinyPixelSpace, Fixtures.tinyTAESD, FCS_ERROR_INVALID_ARGUMENT, "pixel-space"),
        ] {
            let (status, model) = load(path, transport: transport)
            XCTAssertEqual(status, code, lastError)
            XCTAssertTrue(lastError.contains(word), lastError)
            XCTAssertNil(model)
        }
    }

    private func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
        guard let string else { return body(nil) }
        return string.withCString(body)
    }
}
