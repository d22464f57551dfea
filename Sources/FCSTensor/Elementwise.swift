import _FCSKernels

/// `a + b` with NumPy/PyTorch broadcasting.
public func add(_ a: Tensor, _ b: Tensor, in arena: ScratchArena) -> Tensor {
    broadcastBinary(a, b, in: arena) { fcs_add($0, $1, $2, $3, $4, $5) }
}

/// `a += b`, `b` broadcast to `a`'s shape, for callers that no longer need `a`'s values: no
/// new tensor (each element is read before it is overwritten, so the sums are those of ``add(_:_:in:)``).
public func addInPlace(_ a: Tensor, _ b: Tensor) {
    precondition(broadcastShape(a.shape, b.shape) == a.shape, "addInPlace: \(b.shape) does not broadcast to \(a.shape)")
    broadcastBinary(a, b, into: a) { fcs_add($0, $1, $2, $3, $4, $5) }
}

/// `a * b` with NumPy/PyTorch broadcasting.
public func multiply(_ a: Tensor, _ b: Tensor, in arena: ScratchArena) -> Tensor {
    broadcastBinary(a, b, in: arena) { fcs_mul($0, $1, $2, $3, $4, $5) }
}

/// The broadcast shape of two shapes, or nil when they do not broadcast.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    let a = [Int](repeating: 1, count: rank - a.count) + a, b = [Int](repeating: 1, count: rank - b.count) + b
    var out = [Int]()
    for (x, y) in zip(a, b) {
        guard x == y || x == 1 || y == 1 else { return nil }
        out.append(max(x, y))
    }
    return out
}

private typealias BinaryKernel = (UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int) -> Void

/// Walks the output in runs along its innermost dimensions, merged as far as both operands are
/// either contiguous or broadcast over them, so each run is one vectorised kernel call.
private func broadcastBinary(_ a: Tensor, _ b: Tensor, in arena: ScratchArena, _ kernel: BinaryKernel) -> Tensor {
    guard let shape = broadcastShape(a.shape, b.shape) else {
        preconditionFailure("cannot broadcast \(a.shape) with \(b.shape)")
    }
    let out = arena.tensor(shape)
    broadcastBinary(a, b, into: out, kernel)
    return out
}

/// The kernel over `out` (contiguous, of the broadcast shape), which may be `a` itself.
private func broadcastBinary(_ a: Tensor, _ b: Tensor, into out: Tensor, _ kernel: BinaryKernel) {
    let timing = OperationProfile.start(.elementwise)
    defer { timing.stop() }
    precondition(a.isContiguous && b.isContiguous, "elementwise: inputs must be contiguous")
    let shape = out.shape, rank = shape.count
    guard out.count > 0 else { return }
    func broadcastStrides(_ t: Tensor) -> [Int] {
        let padded = [Int](repeating: 1, count: rank - t.rank) + t.shape
        let strides = Tensor.contiguousStrides(padded)
        return (0..<rank).map { padded[$0] == 1 ? 0 : strides[$0] }
    }
    let aStrides = broadcastStrides(a), bStrides = broadcastStrides(b)
    // Merge trailing dimensions into one run while each operand stays uniform over them.
    var run = shape[rank - 1], firstRunDim = rank - 1
    let aStep = aStrides[rank - 1] == 0 ? 0 : 1, bStep = bStrides[rank - 1] == 0 ? 0 : 1
    while firstRunDim > 0 {
        let d = firstRunDim - 1
        guard aStrides[d] == aStep * run, bStrides[d] == bStep * run else { break }
        run *= shape[d]
        firstRunDim = d
    }
    let outerShape = Array(shape[..<firstRunDim])
    let outerCount = Tensor.elementCount(outerShape)
    ComputeThreads.forEachRange(outerCount, minimumPerPart: max(1, (1 << 14) / run)) { runs in
        for index in runs {
            var remainder = index, aOffset = 0, bOffset = 0
            for d in stride(from: firstRunDim - 1, through: 0, by: -1) {
                let i = remainder % shape[d]
                remainder /= shape[d]
                aOffset += i * aStrides[d]
                bOffset += i * bStrides[d]
            }
            kernel(a.data + aOffset, aStep, b.data + bOffset, bStep, out.data + index * run, run)
        }
    }
}
