// The C ABI's image conversions on in-memory images (formats, channels, strides, alpha), and
// the seed contract's golden values.
import CFCS
import FCS
import FCSTensor
import XCTest

final class CABIImageTests: XCTestCase {
    static let pixelSpace = Result { try LoadedModel(Fixtures.tinyPixelSpace) }

    /// An empty mask returns the image untouched: every format and channel count must survive
    /// the round trip through the sampler's planes exactly, with padded rows (grey goes through
    /// RGB and back through Rec. 601 luma, whose weights sum to 1).
    func test_emptyMask_returnsTheImage_inEveryLayout() throws {
        let model = try Self.pixelSpace.get()
        for channels in [1, 3, 4] {
            let (width, height) = (13, 7)
            let image = TestImage(width: width, height: height, channels: channels)
            let mask = TestImage(width: width, height: height, channels: 1, value: 0)
            // rows padded by 5 bytes: stride != packed
            let stride = width * channels + 5
            var padded = [UInt8](repeating: 0xEE, count: stride * height)
            for y in 0..<height { for i in 0..<(width * channels) { padded[y * stride + i] = image.bytes[y * width * channels + i] } }
            var params = quickParams(), out = fcs_image()
            let status = padded.withUnsafeMutableBytes { raw -> fcs_status in
                var descriptor = fcs_image(width: Int32(width), height: Int32(height), channels: Int32(channels), format: FCS_PIXEL_U8,
                                           stride: stride, data: raw.baseAddress)
                return mask.withDescriptor { fcsInpaint(model.handle, &descriptor, $0, &params, &out) }
            }
            XCTAssertEqual(status, FCS_OK, lastError)
            XCTAssertEqual([out.width, out.height, out.channels], [Int32(width), Int32(height), Int32(channels)])
            XCTAssertEqual(out.format, FCS_PIXEL_U8)
            XCTAssertEqual(out.stride, width * channels)
            XCTAssertEqual(pixels(out), image.bytes, "\(channels) channels")
            fcsImageFree(&out)
            XCTAssertNil(out.data, "fcs_image_free zeroes the image")
        }
    }

    func test_floatImages_keepTheirFormat_andAlpha() throws {
        let model = try Self.pixelSpace.get()
        let (width, height) = (8, 8)
        var values = (0..<(width * height * 4)).map { Float($0 % 17) / 16 }
        let mask = TestImage(width: width, height: height, channels: 1, value: 0)
        for y in 2..<6 { for x in 2..<6 { mask.bytes[y * width + x] = 200 } }
        var params = quickParams(), out = fcs_image()
        let status = values.withUnsafeMutableBytes { raw -> fcs_status in
            var image = fcs_image(width: 8, height: 8, channels: 4, format: FCS_PIXEL_F32, stride: 0, data: raw.baseAddress)
            return mask.withDescriptor { fcsInpaint(model.handle, &image, $0, &params, &out) }
        }
        XCTAssertEqual(status, FCS_OK, lastError)
        XCTAssertEqual(out.format, FCS_PIXEL_F32)
        let result = UnsafeBufferPointer(start: out.data!.assumingMemoryBound(to: Float.self), count: width * height * 4)
        for i in 0..<(width * height) { XCTAssertEqual(result[i * 4 + 3], values[i * 4 + 3], "alpha is passed through") }
        XCTAssertTrue(result.allSatisfy { (0...1).contains($0) })
        fcsImageFree(&out)
        // NaN pixels are an argument error, not garbage
        values[5] = .nan
        let nan = values.withUnsafeMutableBytes { raw -> fcs_status in
            var image = fcs_image(width: 8, height: 8, channels: 4, format: FCS_PIXEL_F32, stride: 0, data: raw.baseAddress)
            return mask.withDescriptor { fcsInpaint(model.handle, &image, $0, &params, &out) }
        }
        XCTAssertEqual(nan, FCS_ERROR_INVALID_ARGUMENT)
        XCTAssertTrue(lastError.contains("NaN"), lastError)
    }

    /// The seed contract (docs/sampling.md: SplitMix64 + Box–Muller, in double, rounded to float): values
    /// computed by an independent implementation of that description (Python's float64 math).
    func test_normalGenerator_goldenValues() {
        var generator = NormalGenerator(seed: 42)
        XCTAssertEqual([generator.nextWord(), generator.nextWord(), generator.nextWord()],
                       [0xbdd7_3226_2feb_6e95, 0x28ef_e333_b266_f103, 0x4752_6757_130f_9f52])
        generator = NormalGenerator(seed: 42)
        let normals = (0..<6).map { _ in generator.next() }
        XCTAssertEqual(normals, [0.41471976041793823, 0.6526812314987183, -0.8918862342834473,
                                 1.3268336057662964, 1.72959303855896, -1.883416771888733])
    }
}
