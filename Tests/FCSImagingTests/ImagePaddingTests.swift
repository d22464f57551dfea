@testable import FCSImaging
import FCSTensor
import XCTest

final class ImagePaddingTests: XCTestCase {
    func test_reflect_mirrorsWithoutRepeatingTheEdge_andFoldsBack() {
        XCTAssertEqual((0..<9).map { ImagePadding.reflect($0, size: 3) }, [0, 1, 2, 1, 0, 1, 2, 1, 0])
        XCTAssertEqual((0..<3).map { ImagePadding.reflect($0, size: 1) }, [0, 0, 0])
        let padding = ImagePadding(height: 2, width: 3, multiple: 4)
        let padded = padding.pad(Tensor(shape: [1, 1, 2, 3], values: [1, 2, 3, 4, 5, 6]))
        XCTAssertEqual(padded.toArray(), [1, 2, 3, 2, 4, 5, 6, 5, 1, 2, 3, 2, 4, 5, 6, 5])
        XCTAssertEqual(padding.crop(padded).toArray(), [1, 2, 3, 4, 5, 6])
    }
}
