import _FCSKernels

/// Applies a vectorised unary kernel in parallel chunks.
private func unary(_ x: Tensor, in arena: ScratchArena,
                   _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
    let timing = OperationProfile.start(.elementwise)
    defer { timing.stop() }
    precondition(x.isContiguous, "activation: input must be contiguous")
    let out = arena.tensor(x.shape)
    ComputeThreads.forEachRange(x.count, minimumPerPart: 1 << 14) { range in
        kernel(x.data + range.lowerBound, out.data + range.lowerBound, range.count)
    }
    return out
}

/// `F.silu`: x · sigmoid(x).
public func silu(_ x: Tensor, in arena: ScratchArena) -> Tensor { unary(x, in: arena) { fcs_silu($0, $1, $2) } }

/// `F.relu`: max(x, 0).
public func relu(_ x: Tensor, in arena: ScratchArena) -> Tensor { unary(x, in: arena) { fcs_relu($0, $1, $2) } }

/// `F.gelu`; `approximate: "none"` (erf) or `"tanh"`, as in PyTorch.
public enum GELUApproximation: String, Sendable { case none, tanh }

public func gelu(_ x: Tensor, approximate: GELUApproximation = .none, in arena: ScratchArena) -> Tensor {
    switch approximate {
    case .none: unary(x, in: arena) { fcs_gelu($0, $1, $2) }
    case .tanh: unary(x, in: arena) { fcs_gelu_tanh($0, $1, $2) }
    }
}

/// CLIP's quick GELU: x · sigmoid(1.702 x).
public func quickGELU(_ x: Tensor, in arena: ScratchArena) -> Tensor { unary(x, in: arena) { fcs_quick_gelu($0, $1, $2) } }

/// The gate of diffusers' `GEGLU`: `hidden, gate = x.chunk(2, dim=-1); hidden * gelu(gate)`.
/// - Parameter x: `[..., 2 * d]` (the output of GEGLU's projection). - Returns: `[..., d]`.
public func geglu(_ x: Tensor, in arena: ScratchArena) -> Tensor {
    let timing = OperationProfile.start(.elementwise)
    defer { timing.stop() }
    precondition(x.isContiguous && x.shape.last! % 2 == 0, "geglu: last dimension must be even")
    let half = x.shape.last! / 2, rows = x.count / (2 * half)
    let out = arena.tensor(Array(x.shape.dropLast()) + [half])
    ComputeThreads.forEachRange(rows, minimumPerPart: 8) { range in
        fcs_geglu(x.data + range.lowerBound * 2 * half, out.data + range.lowerBound * half, range.count, half)
    }
    return out
}

/// `F.softmax(x, dim=-1)`.
public func softmax(_ x: Tensor, in arena: ScratchArena) -> Tensor {
    let timing = OperationProfile.start(.elementwise)
    defer { timing.stop() }
    precondition(x.isContiguous, "softmax: input must be contiguous")
    let n = x.shape.last ?? 1
    let out = arena.tensor(x.shape)
    ComputeThreads.forEachRange(x.count / max(n, 1), minimumPerPart: 16) { rows in
        for r in rows { fcs_softmax(x.data + r * n, out.data + r * n, n) }
    }
    return out
}
