import FCSImaging
import FCSTensor
import XCTest

final class ContextCropTests: XCTestCase {
    func test_window_coversTheHoleWithAMargin_andShrinksExactly() throws {
        var fill = [Float](repeating: 0, count: 48 * 200)
        for y in 10...20 { for x in 150...160 { fill[y * 200 + x] = 1 } }
        let crop = try XCTUnwrap(ContextCrop(fill: fill, height: 48, width: 200, contextSize: 48))
        XCTAssertEqual(crop.factor, 2)
        XCTAssertEqual([crop.left, crop.top, crop.width, crop.height], [118, 0, 74, 48])
        XCTAssertTrue(crop.left <= 150 - 32 && crop.left + crop.width > 160 + 30)
        XCTAssertNil(ContextCrop(fill: [Float](repeating: 0, count: 100), height: 10, width: 10, contextSize: 48))
    }

    func test_cutAndBlend_replaceOnlyTheWindow() throws {
        var fill = [Float](repeating: 0, count: 48 * 200)
        fill[15 * 200 + 155] = 1
        let crop = try XCTUnwrap(ContextCrop(fill: fill, height: 48, width: 200, contextSize: 48))
        let image = Tensor(shape: [1, 1, 48, 200], values: (0..<9600).map(Float.init))
        let window = crop.cut(image)
        XCTAssertEqual(window.shape, [1, 1, crop.height, crop.width])
        XCTAssertEqual(window.toArray().first, Float(crop.top * 200 + crop.left))
        let blended = crop.blend(Tensor(zeros: window.shape), into: image,
                                 alpha: [Float](repeating: 1, count: crop.width * crop.height)).toArray()
        for i in 0..<9600 {
            let (y, x) = (i / 200, i % 200), inside = (crop.top..<crop.top + crop.height).contains(y) && (crop.left..<crop.left + crop.width).contains(x)
            XCTAssertEqual(blended[i], inside ? 0 : Float(i))
        }
    }
}
