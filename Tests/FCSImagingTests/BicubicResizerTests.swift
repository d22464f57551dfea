import FCSImaging
import FCSModels
import FCSTensor
import Foundation
import XCTest

/// The resizer against the PyPI `resize-right` package (tools/make_resizer_fixtures.py).
final class BicubicResizerTests: XCTestCase {
    private let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/resizer.safetensors").path

    func test_downAndUpscaling_matchResizeRight() throws {
        let file = try SafeTensorsFile(path: fixture)
        let large = try file.tensor("large"), small = try file.tensor("small")
        for f in [2, 4, 8] {
            for (name, input, scale) in [("down", large, 1 / Double(f)), ("up", small, Double(f))] {
                let out = try BicubicResizer(scale: scale)(input), expected = try file.tensor("\(name)\(f)")
                XCTAssertEqual(out.shape, expected.shape, "\(name)\(f)")
                let error = zip(out.toArray(), expected.toArray()).map { abs($0 - $1) }.max() ?? .nan
                XCTAssertLessThanOrEqual(error, 1e-5, "\(name)\(f): max |error| \(error)")
            }
        }
    }

    func test_constantImages_stayConstant_andBadScalesAreErrors() throws {
        let image = Tensor(shape: [1, 1, 16, 16], values: [Float](repeating: 0.25, count: 256))
        for scale in [0.125, 0.5, 2.0, 8.0] {
            XCTAssertTrue(try BicubicResizer(scale: scale)(image).toArray().allSatisfy { abs($0 - 0.25) < 1e-6 }, "scale \(scale)")
        }
        XCTAssertThrowsError(try BicubicResizer(scale: 0))
        XCTAssertThrowsError(try BicubicResizer(scale: .nan))
    }
}
