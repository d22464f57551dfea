import FCSImaging
import XCTest

final class SeamBlendTests: XCTestCase {
    func test_seamAlpha_coversTheHoleAndFadesOut() {
        var fill = [Float](repeating: 0, count: 64 * 64)  // hole: rows 16..<40, columns 20..<44
        for y in 16..<40 { for x in 20..<44 { fill[y * 64 + x] = 1 } }
        let alpha = seamAlpha(fill, height: 64, width: 64, radius: 4)
        XCTAssertTrue(zip(alpha, fill).allSatisfy { $1 == 0 || $0 == 1 }, "every pixel to fill is fully generated")
        let row = Array(alpha[(28 * 64)..<(29 * 64)])
        XCTAssertEqual(row[11], 0, "9 px left of the hole, beyond 2·radius: untouched")
        XCTAssertTrue(row[12] > 0 && row[12] < row[16] && row[16] < row[19] && row[19] < 1, "a rising ramp: \(row[10...20])")
        XCTAssertEqual(row[20], 1)
    }
}
