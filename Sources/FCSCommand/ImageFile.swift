import CFCS
import FCS
import _FCSImageFiles

/// An image file read through libvips, as packed float 0…1 pixels for the C ABI; results are
/// written back in the source file's format (bit depth, colour space, alpha).
final class ImageFile {
    let path: String
    let width: Int32, height: Int32, channels: Int32
    private let pixels: UnsafeMutablePointer<Float>
    private let source: UnsafeMutableRawPointer?

    init(_ path: String) throws {
        try Self.startVips()
        var (width, height, channels): (Int32, Int32, Int32) = (0, 0, 0)
        var source: UnsafeMutableRawPointer?
        guard let pixels = fcs_image_file_read(path, &width, &height, &channels, &source) else {
            throw CommandFailure("\(path): \(String(cString: fcs_image_file_error()))")
        }
        (self.path, self.width, self.height, self.channels, self.pixels, self.source) = (path, width, height, channels, pixels, source)
    }

    deinit {
        fcs_image_file_free_pixels(pixels)
        fcs_image_file_release(source)
    }

    /// The pixels as an fcs_image borrowing this object's memory.
    var image: fcs_image {
        fcs_image(width: width, height: height, channels: channels, format: FCS_PIXEL_F32, stride: 0, data: pixels)
    }

    /// Writes an F32 result of the C ABI in this file's format to a new temporary file next to
    /// `path` (see ``OutputFiles``), then frees the result; returns the temporary file's name.
    func writeTemporary(_ result: inout fcs_image, for path: String) throws -> String {
        defer { fcsImageFree(&result) }
        guard let pixels = result.data else { throw CommandFailure("\(path): internal error: fcs returned no pixels") }
        var temporary = [CChar](repeating: 0, count: Int(FCS_IMAGE_FILE_NAME_MAX))
        guard fcs_image_file_write_temporary(path, pixels.assumingMemoryBound(to: Float.self), result.width, result.height,
                                             result.channels, source, &temporary) == 0 else {
            throw CommandFailure("\(path): \(String(cString: fcs_image_file_error()))")
        }
        return String(decoding: temporary.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static let vipsStarted: Bool = fcs_image_files_init("fcs") == 0

    static func startVips() throws {
        guard vipsStarted else { throw CommandFailure("libvips did not start: \(String(cString: fcs_image_file_error()))") }
    }
}
