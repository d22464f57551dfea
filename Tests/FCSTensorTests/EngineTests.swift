import FCSTensor
import XCTest

/// The engine's own guarantees: views without copies, arena reuse, bounded attention memory,
/// deterministic results.
final class EngineTests: XCTestCase {
    func test_reshape_sharesStorage() {
        let t = Tensor(shape: [2, 3, 4], values: (0..<24).map(Float.init))
        let r = t.reshaped([6, -1])
        XCTAssertEqual(r.shape, [6, 4])
        XCTAssertEqual(r.data, t.data)
        XCTAssertEqual(t.slice(dim: 1, start: 1, length: 2).toArray(),
                       [4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23])
    }

    func test_arena_reusesMemoryAcrossForwards() {
        let arena = ScratchArena(chunkBytes: 1 << 20)
        var random = NormalGenerator(seed: 1)
        let conv = Conv2d(weight: random.tensor([8, 4, 3, 3]), bias: random.tensor([8]), padding: 1)
        let x = random.tensor([1, 4, 16, 16])
        let first = arena.scope { conv(x, in: arena).toArray() }
        let reserved = arena.reservedBytes
        for _ in 0..<3 {
            XCTAssertEqual(arena.scope { conv(x, in: arena).toArray() }, first)
        }
        XCTAssertEqual(arena.reservedBytes, reserved, "a repeated forward must not grow the arena")
    }

    func test_attention_neverHoldsTheFullScoreMatrix() {
        let arena = ScratchArena()
        var random = NormalGenerator(seed: 2)
        let tokens = 4096, width = 64
        let q = random.tensor([1, tokens, width]), k = random.tensor([1, tokens, width]), v = random.tensor([1, tokens, width])
        _ = scaledDotProductAttention(query: q, key: k, value: v, heads: 1, in: arena)
        // output + per-thread tiles; a materialised score matrix alone would be tokens² = 16.8 M floats
        XCTAssertLessThan(arena.peakFloats, tokens * width + 8 * 128 * 512 * 2)
    }

    func test_attention_rowsSumToOne() {
        // with v = 1 everywhere, every output is exactly the sum of the softmax weights
        let arena = ScratchArena()
        var random = NormalGenerator(seed: 3)
        let q = random.tensor([1, 700, 16], scale: 3), k = random.tensor([1, 600, 16], scale: 3)
        let v = Tensor(shape: [1, 600, 16], values: [Float](repeating: 1, count: 600 * 16))
        for causal in [false, true] {
            let out = scaledDotProductAttention(query: q, key: k, value: v, heads: 2, causal: causal, in: arena).toArray()
            XCTAssertLessThan(out.map { abs($0 - 1) }.max()!, 1e-5)
        }
    }

    func test_kernels_areDeterministicForAFixedThreadCount() {
        let arena = ScratchArena()
        var random = NormalGenerator(seed: 4)
        let conv = Conv2d(weight: random.tensor([32, 16, 3, 3]), bias: random.tensor([32]), padding: 1)
        let norm = GroupNorm(groups: 8, weight: random.tensor([32]), bias: random.tensor([32]))
        let x = random.tensor([1, 16, 24, 24])
        let saved = ComputeThreads.count
        defer { ComputeThreads.count = saved }
        for threads in [1, 2, 3] {
            ComputeThreads.count = threads
            let once = arena.scope { norm(conv(x, in: arena), silu: true, in: arena).toArray() }
            let again = arena.scope { norm(conv(x, in: arena), silu: true, in: arena).toArray() }
            XCTAssertEqual(once, again, "\(threads) threads")
        }
    }

    func test_inPlaceOperations_giveTheBitsOfTheirAllocatingForms() {
        let arena = ScratchArena()
        var random = NormalGenerator(seed: 9)
        for spatial in [1, 7, 16, 33] {  // runs shorter than, equal to and past a vector, with tails
            let x = random.tensor([2, 8, spatial, 3], scale: 3), bias = random.tensor([2, 8, 1, 1]), other = random.tensor([2, 8, spatial, 3])
            let norm = GroupNorm(groups: 4, weight: random.tensor([8]), bias: random.tensor([8]))
            for silu in [false, true] {
                let expected = norm(x, silu: silu, in: arena).toArray()
                let inPlace = Tensor(shape: x.shape, values: x.toArray())
                norm.normalizeInPlace(inPlace, silu: silu)
                XCTAssertEqual(inPlace.toArray(), expected, "GroupNorm in place, silu \(silu), spatial \(spatial)")
            }
            for b in [bias, other] {
                let expected = add(x, b, in: arena).toArray()
                let inPlace = Tensor(shape: x.shape, values: x.toArray())
                addInPlace(inPlace, b)
                XCTAssertEqual(inPlace.toArray(), expected, "add in place of \(b.shape), spatial \(spatial)")
            }
        }
    }

    func test_normalGenerator_isReproducible() {
        var a = NormalGenerator(seed: 42), b = NormalGenerator(seed: 42), c = NormalGenerator(seed: 43)
        let first = (0..<1000).map { _ in a.next() }
        XCTAssertEqual(first, (0..<1000).map { _ in b.next() })
        XCTAssertNotEqual(first, (0..<1000).map { _ in c.next() })
        let mean = first.reduce(0, +) / 1000, variance = first.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 1000
        XCTAssertEqual(mean, 0, accuracy: 0.1)
        XCTAssertEqual(variance, 1, accuracy: 0.15)
    }
}

extension EngineTests {
    /// Whole 16 × 16 blocks and the rows and columns past them, split between threads (the
    /// largest shape) or not.
    func test_transposeLastTwo_swapsTheLastTwoDimensions() {
        let arena = ScratchArena()
        for (batch, m, n) in [(2, 35, 70), (3, 100, 700), (1, 1, 1), (4, 16, 16), (1, 5, 33)] {
            let x = Tensor(shape: [batch, m, n], values: (0..<batch * m * n).map(Float.init))
            let t = transposeLastTwo(x, in: arena)
            XCTAssertEqual(t.shape, [batch, n, m])
            var mismatches = 0
            for b in 0..<batch {
                for i in 0..<m {
                    for j in 0..<n where t.data[(b * n + j) * m + i] != x.data[(b * m + i) * n + j] { mismatches += 1 }
                }
            }
            XCTAssertEqual(mismatches, 0, "[\(batch), \(m), \(n)]")
        }
    }

    func test_retaining_keepsTheResultAndReleasesTemporaries() {
        let arena = ScratchArena(chunkBytes: 1 << 20)
        let before = arena.mark()
        let kept = arena.retaining {
            _ = arena.tensor([1000])  // a temporary
            let result = arena.tensor([3])
            result.data.update(from: [1, 2, 3], count: 3)
            return result
        }
        XCTAssertEqual(kept.toArray(), [1, 2, 3])
        arena.rewind(to: before)
        XCTAssertEqual(arena.tensor([3]).data, kept.data, "the kept tensor sits where the scope began")
    }
}
