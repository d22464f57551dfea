import _FCSKernels

/// `torch.nn.LayerNorm` over the last dimension.
public struct LayerNorm: Sendable {
    public let features: Int
    public let eps: Float
    let weight: Tensor
    let bias: Tensor

    public init(weight: Tensor, bias: Tensor, eps: Float = 1e-5) {
        precondition(weight.count == bias.count, "LayerNorm: weight and bias differ in size")
        features = weight.count
        self.eps = eps
        self.weight = weight
        self.bias = bias
    }

    /// - Parameter x: `[..., features]`, contiguous.
    public func callAsFunction(_ x: Tensor, in arena: ScratchArena) -> Tensor {
        let timing = OperationProfile.start(.normalization)
        defer { timing.stop() }
        precondition(x.shape.last == features && x.isContiguous, "LayerNorm: expected [..., \(features)], got \(x.shape)")
        let out = arena.tensor(x.shape)
        ComputeThreads.forEachRange(x.count / features, minimumPerPart: 16) { rows in
            for r in rows {
                let source = x.data + r * features
                let mean = fcs_sum(source, features) / Float(features)
                let variance = fcs_sum_squared_deviation(source, features, mean) / Float(features)
                fcs_normalize_affine(source, out.data + r * features, features, mean,
                                     1 / (variance + eps).squareRoot(), weight.data, bias.data)
            }
        }
        return out
    }
}
