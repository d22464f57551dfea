/// `torch.nn.Linear`: `y = x Wᵀ + b` over the last dimension.
public struct Linear: Sendable {
    public let inFeatures: Int
    public let outFeatures: Int
    /// `[out, in]`, the PyTorch layout (used as a transposed GEMM operand; no repacking needed).
    let weight: StoredWeights
    let bias: Tensor?

    public init(weight: Tensor, bias: Tensor?, precision: WeightPrecision = .float32) {
        precondition(weight.rank == 2, "Linear: weight must be [out, in]")
        (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
        precondition(bias == nil || bias!.count == outFeatures, "Linear: bias must have \(outFeatures) values")
        self.weight = StoredWeights(weight.isContiguous ? weight : Tensor(shape: weight.shape, values: weight.toArray()),
                                    precision: precision)
        self.bias = bias
    }

    /// Scratch floats a call takes beside its result (float16 weights widened for the call).
    public var scratchFloats: Int { weight.precision == .float32 ? 0 : weight.count }

    /// - Parameter x: `[..., in]`, contiguous. - Returns: `[..., out]` in `arena`.
    public func callAsFunction(_ x: Tensor, in arena: ScratchArena) -> Tensor {
        let timing = OperationProfile.start(.pointwise, flops: 2 * x.count * outFeatures)
        defer { timing.stop() }
        precondition(x.shape.last == inFeatures && x.isContiguous, "Linear: expected [..., \(inFeatures)], got \(x.shape)")
        let rows = x.count / inFeatures
        let out = arena.tensor(Array(x.shape.dropLast()) + [outFeatures])
        if let bias {
            for r in 0..<rows { (out.data + r * outFeatures).update(from: bias.data, count: outFeatures) }
        }
        arena.scope {
            Gemm.multiply(transposeB: true, m: rows, n: outFeatures, k: inFeatures, a: x.data, lda: inFeatures,
                          b: weight.float32(in: arena), ldb: inFeatures, beta: bias == nil ? 0 : 1, c: out.data, ldc: outFeatures)
        }
        return out
    }
}
