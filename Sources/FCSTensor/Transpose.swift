import _FCSKernels

/// `x.transpose(-1, -2)` made contiguous: `[..., M, N]` → `[..., N, M]` (`fcs_transpose_rows`:
/// 16 × 16 blocks in registers on AVX-512). Diffusers' transformer blocks switch between
/// `[B, C, H·W]` and `[B, H·W, C]` this way.
public func transposeLastTwo(_ x: Tensor, in arena: ScratchArena) -> Tensor {
    let timing = OperationProfile.start(.elementwise)
    defer { timing.stop() }
    precondition(x.rank >= 2 && x.isContiguous, "transposeLastTwo: expected a contiguous tensor of rank ≥ 2")
    let (m, n) = (x.shape[x.rank - 2], x.shape[x.rank - 1])
    let batches = x.count / max(m * n, 1)
    let out = arena.tensor(Array(x.shape.dropLast(2)) + [n, m])
    // threads take whole 16-row strips (the kernel's block) of one matrix at a time
    let strip = 16, strips = (m + strip - 1) / strip
    ComputeThreads.forEachRange(batches * strips, minimumPerPart: max(1, (1 << 16) / max(strip * n, 1))) { range in
        var unit = range.lowerBound
        while unit < range.upperBound {  // one call per matrix the range reaches into
            let b = unit / strips, first = unit % strips, end = min(strips, first + range.upperBound - unit)
            fcs_transpose_rows(x.data + b * m * n, m, n, first * strip, min(end * strip, m), out.data + b * m * n)
            unit += end - first
        }
    }
    return out
}
