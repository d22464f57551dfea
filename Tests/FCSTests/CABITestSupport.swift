import CFCS
import FCS
import FCSModels
import FCSTensor
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The tiny fixtures of FCSModelsTests, by source path.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FCSModelsTests/Fixtures")
    static let tinySD = root.appendingPathComponent("tiny-sd").path
    static let tinyPixelSpace = root.appendingPathComponent("tiny-unet2d/plain").path
    static let tinyTAESD = root.appendingPathComponent("tiny-taesd").path
}

/// A model loaded through fcs_model_load, freed at deinit.
final class LoadedModel: @unchecked Sendable {  // fcs models are read-only once loaded
    let handle: OpaquePointer
    init(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        var model: OpaquePointer?
        let status = fcsModelLoad(path, nil, &model)
        guard status == FCS_OK, let model else {
            throw XCTSkip("could not load \(path): \(String(cString: fcsLastError()))")
        }
        handle = model
    }
    deinit { fcsModelFree(handle) }
}

/// An interleaved image in memory the test owns, and its fcs_image descriptor.
final class TestImage {
    var bytes: [UInt8]
    let width: Int32, height: Int32, channels: Int32

    /// A smooth colour pattern (or `value` everywhere).
    init(width: Int, height: Int, channels: Int, value: UInt8? = nil) {
        (self.width, self.height, self.channels) = (Int32(width), Int32(height), Int32(channels))
        bytes = (0..<(width * height * channels)).map { i in
            value ?? UInt8((i / channels % width * 3 + i / channels / width * 5 + i % channels * 40) % 256)
        }
    }

    /// Runs `body` with a descriptor of the pixels (stride 0 = packed unless given).
    func withDescriptor<R>(stride: Int = 0, format: fcs_pixel_format = FCS_PIXEL_U8,
                           _ body: (UnsafePointer<fcs_image>) throws -> R) rethrows -> R {
        try bytes.withUnsafeMutableBytes { raw in
            var image = fcs_image(width: width, height: height, channels: channels, format: format, stride: stride, data: raw.baseAddress)
            return try withUnsafePointer(to: &image) { try body($0) }
        }
    }
}

/// Fast settings for the tiny models: 2 steps, K = 1.
func quickParams(seed: UInt64 = 1) -> fcs_sample_params {
    var params = fcsSampleParamsDefault()
    (params.steps, params.newton_steps, params.seed) = (2, 1, seed)
    return params
}

var lastError: String { String(cString: fcsLastError()) }

/// The result's pixels as bytes (U8 results).
func pixels(_ image: fcs_image) -> [UInt8] {
    guard let data = image.data else { return [] }
    let count = Int(image.height) * image.stride
    return Array(UnsafeRawBufferPointer(start: data, count: count))
}
