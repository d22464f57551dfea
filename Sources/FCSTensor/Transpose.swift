/// `x.transpose(-1, -2)` made contiguous: `[..., M, N]` → `[..., N, M]`, in cache-sized blocks.
/// Diffusers' transformer blocks switch between `[B, C, H·W]` and `[B, H·W, C]` this way.
public func transposeLastTwo(_ x: Tensor, in arena: ScratchArena) -> Tensor {
    let timing = OperationProfile.start(.elementwise)
    defer { timing.stop() }
    precondition(x.rank >= 2 && x.isContiguous, "transposeLastTwo: expected a contiguous tensor of rank ≥ 2")
    let (m, n) = (x.shape[x.rank - 2], x.shape[x.rank - 1])
    let batches = x.count / max(m * n, 1)
    let out = arena.tensor(Array(x.shape.dropLast(2)) + [n, m])
    let block = 32
    ComputeThreads.forEachRange(batches * ((m + block - 1) / block)) { rowBlocks in
        for rowBlock in rowBlocks {
            let b = rowBlock / ((m + block - 1) / block), i0 = rowBlock % ((m + block - 1) / block) * block
            let source = x.data + b * m * n, destination = out.data + b * m * n
            for j0 in stride(from: 0, to: n, by: block) {
                for i in i0..<min(i0 + block, m) {
                    for j in j0..<min(j0 + block, n) { destination[j * m + i] = source[i * n + j] }
                }
            }
        }
    }
    return out
}
