import _FCSKernels

/// `torch.nn.Linear`: `y = x Wᵀ + b` over the last dimension, on `fcs_linear` (fcs's GEMM with
/// the weights packed once, read in the precision they are stored in).
public struct Linear: Sendable {
    public let inFeatures: Int
    public let outFeatures: Int
    /// `[out, in]` as `fcs_linear`'s B panels.
    private let weight: StoredWeights
    let bias: Tensor?

    public init(weight: Tensor, bias: Tensor?, precision: WeightPrecision = .float32) {
        precondition(weight.rank == 2, "Linear: weight must be [out, in]")
        (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
        precondition(bias == nil || bias!.count == outFeatures, "Linear: bias must have \(outFeatures) values")
        let contiguous = weight.isContiguous ? weight : Tensor(shape: weight.shape, values: weight.toArray())
        self.weight = StoredWeights(rows: outFeatures, columns: inFeatures, source: contiguous.data, precision: precision,
                                    layout: .columnPanels)
        withExtendedLifetime(contiguous) {}  // a copy's storage must outlive the packing that reads its pointer
        self.bias = bias
    }

    public var precision: WeightPrecision { weight.precision }

    /// Bytes the weights hold.
    public var weightBytes: Int { weight.bytes }

    /// Scratch floats a call takes beside its result.
    public var scratchFloats: Int { ScratchArena.alignedFloats(ComputeThreads.count * fcs_linear_scratch_size()) }

    /// - Parameters:
    ///   - x: `[..., in]`, contiguous.
    ///   - recordedInput: where x is computed from outputs a ``DifferenceTape`` recorded earlier in
    ///     this forward, how, so that the tape need not keep x.
    /// - Returns: `[..., out]` in `arena`.
    public func callAsFunction(_ x: Tensor, in arena: ScratchArena, recordedInput: RecordedValue? = nil) -> Tensor {
        let timing = OperationProfile.start(.linear, flops: 2 * x.count * outFeatures)
        defer { timing.stop() }
        precondition(x.shape.last == inFeatures && x.isContiguous, "Linear: expected [..., \(inFeatures)], got \(x.shape)")
        if precision == .bfloat16, let tape = arena.differenceTape {
            return tape.run(x, in: arena, recordedInput: recordedInput, operation: { apply($0, bias: bias, in: arena) },
                            linearPart: { apply($0, bias: nil, in: arena) })
        }
        return apply(x, bias: bias, in: arena)
    }

    private func apply(_ x: Tensor, bias: Tensor?, in arena: ScratchArena) -> Tensor {
        let rows = x.count / inFeatures
        let out = arena.tensor(Array(x.shape.dropLast()) + [outFeatures])
        arena.scope {
            let scratchSize = fcs_linear_scratch_size(), scratch = arena.scratch(ComputeThreads.count * scratchSize)
            // rows split across threads in whole 12-row panels; below ~1 MFLOP a second thread costs more than it saves
            let units = (rows + Int(FCS_CONV_GEMM_MR) - 1) / Int(FCS_CONV_GEMM_MR)
            let parts = rows * outFeatures * inFeatures >= 1 << 19 ? units : 1
            ComputeThreads.run(maxParts: parts) { part, parts in
                let range = ComputeThreads.partRange(units, part: part, parts: parts)
                let start = range.lowerBound * Int(FCS_CONV_GEMM_MR), end = min(range.upperBound * Int(FCS_CONV_GEMM_MR), rows)
                guard start < end else { return }
                fcs_linear(end - start, outFeatures, inFeatures, weight.precision.panelType, weight.panels(),
                           x.data + start * inFeatures, inFeatures, out.data + start * outFeatures, outFeatures,
                           bias?.data, scratch + part * scratchSize)
            }
        }
        return out
    }
}
