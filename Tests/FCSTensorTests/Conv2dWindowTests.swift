@testable import FCSTensor
import XCTest
import _FCSKernels

/// Conv2d in windows (what lets any input size run with bounded scratch and Int32 offsets)
/// gives exactly the results of one window over the whole image. Real 2^31-float inputs do
/// not fit a test machine, so the limits are lowered instead.
final class Conv2dWindowTests: XCTestCase {
    private struct Case {
        let name: String
        let input: [Int]  // [N, C, H, W]
        let out: Int, kernel: Int, stride: Int
        let padding: Conv2d.Padding
        let algorithm: Conv2d.Algorithm
    }

    private let cases = [
        Case(name: "winograd, odd sizes", input: [2, 16, 13, 11], out: 24, kernel: 3, stride: 1, padding: .all(1), algorithm: .winograd),
        Case(name: "winograd, unpadded", input: [1, 16, 12, 9], out: 16, kernel: 3, stride: 1, padding: .all(0), algorithm: .winograd),
        Case(name: "winograd 4x4, odd sizes", input: [2, 16, 13, 11], out: 24, kernel: 3, stride: 1, padding: .all(1),
             algorithm: .winograd4x4),
        Case(name: "winograd 4x4, unpadded, wide", input: [1, 17, 10, 71], out: 16, kernel: 3, stride: 1, padding: .all(0),
             algorithm: .winograd4x4),
        Case(name: "3x3 padded", input: [1, 5, 14, 17], out: 7, kernel: 3, stride: 1, padding: .all(1), algorithm: .implicitGEMM),
        Case(name: "3x3 stride 2, pad (0,1,0,1)", input: [2, 6, 15, 12], out: 13, kernel: 3, stride: 2,
             padding: Conv2d.Padding(top: 0, bottom: 1, left: 0, right: 1), algorithm: .implicitGEMM),
        Case(name: "5x5 padding 2", input: [1, 3, 11, 10], out: 4, kernel: 5, stride: 1, padding: .all(2), algorithm: .implicitGEMM),
        Case(name: "1x1 in place", input: [1, 8, 9, 21], out: 30, kernel: 1, stride: 1, padding: .all(0), algorithm: .implicitGEMM),
    ]

    private let arena = ScratchArena()

    private func convolution(_ c: Case, seed: UInt64) -> (Conv2d, Tensor) {
        var random = NormalGenerator(seed: seed)
        let conv = Conv2d(weight: random.tensor([c.out, c.input[1], c.kernel, c.kernel]), bias: random.tensor([c.out]),
                          stride: c.stride, padding: c.padding, algorithm: c.algorithm)
        return (conv, random.tensor(c.input))
    }

    func test_windowedConvolution_equalsOneWindow() {
        let limits = [
            ("row bands", Conv2d.WindowLimits(scratchFloats: 1500)),
            ("Winograd row bands", Conv2d.WindowLimits(scratchFloats: 10_000)),
            ("columns within rows", Conv2d.WindowLimits(scratchFloats: 200)),
            ("one output per window", Conv2d.WindowLimits(scratchFloats: 1)),
            ("offsets past the limit copied", Conv2d.WindowLimits(offsets: 600)),
        ]
        for (seed, c) in cases.enumerated() {
            let (conv, x) = convolution(c, seed: UInt64(seed))
            let whole = arena.scope { conv(x, in: arena).toArray() }
            for (label, limit) in limits {
                let windowed = arena.scope { conv(x, limits: limit, in: arena).toArray() }
                XCTAssert(windowed == whole, "\(c.name), \(label): windows changed the result")
            }
        }
    }

    func test_windows_boundScratchMemory() {
        var random = NormalGenerator(seed: 9)
        let conv = Conv2d(weight: random.tensor([32, 32, 3, 3]), bias: nil, padding: 1, algorithm: .implicitGEMM)
        let x = random.tensor([1, 32, 64, 64])
        let limit = 20_000, output = 32 * 64 * 64
        let fresh = ScratchArena()
        _ = conv(x, limits: Conv2d.WindowLimits(scratchFloats: limit), in: fresh)
        // output + one window's copy + index tables + the GEMM's per-thread panels; the unwindowed
        // padded copy alone would be 32 · 66 · 66 = 139 392 floats
        let panels = ComputeThreads.count * fcs_conv_gemm_scratch_size(), tables = 32 * 9 + limit / 32
        XCTAssertLessThanOrEqual(fresh.peakFloats, output + limit + tables + panels + 64)
    }

    /// `scratchFloats` is what a call takes beside its result (working-set estimates rest on it).
    func test_scratchFloats_isWhatACallAllocates() {
        for (seed, c) in cases.enumerated() {
            let (conv, x) = convolution(c, seed: UInt64(seed))
            for limits in [Conv2d.WindowLimits(), Conv2d.WindowLimits(scratchFloats: 300)] {
                let fresh = ScratchArena()
                let out = conv(x, limits: limits, in: fresh)
                XCTAssertEqual(fresh.peakFloats, ScratchArena.alignedFloats(out.count)
                               + conv.scratchFloats(height: c.input[2], width: c.input[3], limits: limits), c.name)
            }
        }
    }
}
