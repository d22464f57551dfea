/// `a @ b` for `a: [M, K]`, `b: [K, N]` → `[M, N]`.
public func matmul(_ a: Tensor, _ b: Tensor, in arena: ScratchArena) -> Tensor {
    precondition(a.rank == 2 && b.rank == 2 && a.shape[1] == b.shape[0] && a.isContiguous && b.isContiguous,
                 "matmul: \(a.shape) @ \(b.shape)")
    let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
    let out = arena.tensor([m, n])
    Gemm.multiply(m: m, n: n, k: k, a: a.data, lda: k, b: b.data, ldb: n, c: out.data, ldc: n)
    return out
}

/// `torch.bmm`: `a: [B, M, K]`, `b: [B, K, N]` → `[B, M, N]`.
public func batchedMatmul(_ a: Tensor, _ b: Tensor, in arena: ScratchArena) -> Tensor {
    precondition(a.rank == 3 && b.rank == 3 && a.shape[0] == b.shape[0] && a.shape[2] == b.shape[1]
                 && a.isContiguous && b.isContiguous, "batchedMatmul: \(a.shape) @ \(b.shape)")
    let (batch, m, k, n) = (a.shape[0], a.shape[1], a.shape[2], b.shape[2])
    let out = arena.tensor([batch, m, n])
    for i in 0..<batch {
        Gemm.multiply(m: m, n: n, k: k, a: a.data + i * m * k, lda: k, b: b.data + i * k * n, ldb: n,
                      c: out.data + i * m * n, ldc: n)
    }
    return out
}

/// `c += alpha · a @ b` for `a: [M, K]`, `b: [K, N]`, `c: [M, N]`, in place (a LoRA's
/// `W += scale · up @ down`).
public func addMatmul(_ a: Tensor, _ b: Tensor, scaledBy alpha: Float, into c: Tensor) {
    precondition(a.rank == 2 && b.rank == 2 && c.rank == 2 && a.shape[1] == b.shape[0] && c.shape == [a.shape[0], b.shape[1]]
                 && a.isContiguous && b.isContiguous && c.isContiguous, "addMatmul: \(c.shape) += \(a.shape) @ \(b.shape)")
    let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
    Gemm.multiply(m: m, n: n, k: k, alpha: alpha, a: a.data, lda: k, b: b.data, ldb: n, beta: 1, c: c.data, ldc: n)
}
