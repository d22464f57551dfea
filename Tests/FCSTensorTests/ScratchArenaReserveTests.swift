import FCSTensor
import XCTest

/// Running out of memory is an error at `reserve`, not a trap mid-pass.
final class ScratchArenaReserveTests: XCTestCase {
    func test_reserve_refusedByTheSystem_throwsOutOfMemory() {
        let arena = ScratchArena()
        XCTAssertThrowsError(try arena.reserve(floats: 1 << 60)) {
            XCTAssertEqual(($0 as? FCSError)?.code, .outOfMemory)
            XCTAssertTrue("\($0)".contains("MiB"), "\($0)")
        }
        XCTAssertThrowsError(try arena.reserve(floats: .max)) { XCTAssertEqual(($0 as? FCSError)?.code, .outOfMemory) }
    }

    func test_reservedFloats_needNoFurtherMemory() throws {
        let arena = ScratchArena(chunkBytes: 1 << 20)
        _ = arena.tensor([1000])  // the current chunk is partly used
        try arena.reserve(floats: 3 << 20)
        let reserved = arena.reservedBytes
        arena.scope {
            for size in [100_000, 1 << 20, 7, 500_000, 1 << 20, 250_000] { _ = arena.tensor([size]) }
        }
        XCTAssertEqual(arena.reservedBytes, reserved)
        try arena.reserve(floats: 3 << 20)  // already there: nothing new
        XCTAssertEqual(arena.reservedBytes, reserved)
    }
}
