import _FCSKernels

/// `torch.nn.GroupNorm` on `[N, C, ...]`, optionally fused with the SiLU that follows it in every
/// diffusers ResNet block (one pass over memory instead of two).
public struct GroupNorm: Sendable {
    public let groups: Int
    public let channels: Int
    public let eps: Float
    let weight: Tensor
    let bias: Tensor

    public init(groups: Int, weight: Tensor, bias: Tensor, eps: Float = 1e-5) {
        precondition(weight.count == bias.count && weight.count % groups == 0,
                     "GroupNorm: \(weight.count) channels do not split into \(groups) groups")
        self.groups = groups
        channels = weight.count
        self.eps = eps
        self.weight = weight
        self.bias = bias
    }

    /// - Parameters:
    ///   - x: `[N, C, ...]`, contiguous.
    ///   - silu: apply SiLU to the result.
    public func callAsFunction(_ x: Tensor, silu: Bool = false, in arena: ScratchArena) -> Tensor {
        let out = arena.tensor(x.shape)
        normalize(x, silu: silu, into: out)
        return out
    }

    /// The same values written over `x`, for callers that no longer need its input: one tensor
    /// of that size fewer in the arena (each value is read before it is overwritten).
    public func normalizeInPlace(_ x: Tensor, silu: Bool = false) {
        normalize(x, silu: silu, into: x)
    }

    private func normalize(_ x: Tensor, silu: Bool, into out: Tensor) {
        let timing = OperationProfile.start(.normalization)
        defer { timing.stop() }
        precondition(x.rank >= 2 && x.shape[1] == channels && x.isContiguous,
                     "GroupNorm: expected contiguous [N, \(channels), ...], got \(x.shape)")
        let spatial = x.count / (x.shape[0] * channels), perGroup = channels / groups
        let blockCount = perGroup * spatial
        ComputeThreads.forEachRange(x.shape[0] * groups) { blocks in
            for block in blocks {
                let source = x.data + block * blockCount, destination = out.data + block * blockCount
                // Two passes (mean, then squared deviations): exact for activations with a large mean.
                let mean = fcs_sum(source, blockCount) / Float(blockCount)
                let variance = fcs_sum_squared_deviation(source, blockCount, mean) / Float(blockCount)
                let rstd = 1 / (variance + eps).squareRoot()
                for i in 0..<perGroup {
                    let c = block % groups * perGroup + i
                    let scale = weight.data[c] * rstd
                    fcs_scale_shift(source + i * spatial, destination + i * spatial, spatial,
                                    scale, bias.data[c] - mean * scale, silu ? 1 : 0)
                }
            }
        }
    }
}
