import FCSImaging
import FCSTensor
import XCTest

final class LuminanceTests: XCTestCase {
    func test_lift_isARightInverse_andAGreyChange() {
        var random = NormalGenerator(seed: 5)
        let r = random.tensor([1, 1, 4, 5], scale: 1), luminance = Luminance()
        let lifted = luminance.lift(r)
        XCTAssertEqual(lifted.shape, [1, 3, 4, 5])
        XCTAssertEqual(Array(lifted.toArray()[0..<20]), Array(lifted.toArray()[20..<40]), "the same change on every channel")
        let back = luminance(lifted).toArray()
        XCTAssertEqual(zip(back, r.toArray()).map { abs($0 - $1) }.max() ?? .nan, 0, accuracy: 1e-6)
    }

    /// The result has the target luminance exactly, stays in [-1, 1] even where a channel clips,
    /// and keeps the chroma where none does.
    func test_replacing_setsTheLuminance_withinRange() {
        var random = NormalGenerator(seed: 6)
        let image = Tensor(shape: [1, 3, 8, 8], values: random.tensor([1, 3, 8, 8], scale: 0.6).toArray().map { min(1, max(-1, $0)) })
        let target = Tensor(shape: [1, 1, 8, 8], values: random.tensor([1, 1, 8, 8], scale: 0.7).toArray().map { min(1, max(-1, $0)) })
        let luminance = Luminance(), out = luminance.replacing(luminanceOf: image, with: target)
        XCTAssertTrue(out.toArray().allSatisfy { $0 >= -1 && $0 <= 1 })
        XCTAssertEqual(zip(luminance(out).toArray(), target.toArray()).map { abs($0 - $1) }.max() ?? .nan, 0, accuracy: 1e-5)
        let (before, after) = (image.toArray(), out.toArray())
        for i in 0..<64 where (0..<3).allSatisfy({ abs(after[$0 * 64 + i]) < 1 }) {
            XCTAssertEqual(after[i] - after[64 + i], before[i] - before[64 + i], accuracy: 1e-5, "R − G kept at \(i)")
        }
    }
}
