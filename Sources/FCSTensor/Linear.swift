import _FCSKernels

/// `torch.nn.Linear`: `y = x Wᵀ + b` over the last dimension.
public struct Linear: Sendable {
    public let inFeatures: Int
    public let outFeatures: Int
    public let precision: WeightPrecision
    /// float32: `[out, in]`, the PyTorch layout, a transposed operand of OpenBLAS's GEMM.
    private let weight: Tensor?
    /// 16-bit precisions: `[out, in]` in `fcs_conv_gemm`'s panels, read as stored.
    private let panels: StoredWeights?
    let bias: Tensor?

    public init(weight: Tensor, bias: Tensor?, precision: WeightPrecision = .float32) {
        precondition(weight.rank == 2, "Linear: weight must be [out, in]")
        (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
        precondition(bias == nil || bias!.count == outFeatures, "Linear: bias must have \(outFeatures) values")
        self.precision = precision
        let contiguous = weight.isContiguous ? weight : Tensor(shape: weight.shape, values: weight.toArray())
        if precision == .float32 {
            (self.weight, panels) = (contiguous, nil)
        } else {
            (self.weight, panels) = (nil, StoredWeights(rows: outFeatures, columns: inFeatures, source: contiguous.data,
                                                        precision: precision))
        }
        self.bias = bias
    }

    /// Bytes the weights hold.
    public var weightBytes: Int { weight.map { $0.count * 4 } ?? panels?.bytes ?? 0 }

    /// Scratch floats a call takes beside its result, for `rows` rows of input.
    public func scratchFloats(rows: Int) -> Int {
        guard panels != nil else { return 0 }
        let chunk = min(rows, Linear.rowsPerChunk(inFeatures))
        return ScratchArena.alignedFloats(inFeatures) + ScratchArena.alignedFloats(chunk)
            + ScratchArena.alignedFloats(ComputeThreads.count * fcs_conv_gemm_scratch_size())
    }

    /// - Parameter x: `[..., in]`, contiguous. - Returns: `[..., out]` in `arena`.
    public func callAsFunction(_ x: Tensor, in arena: ScratchArena) -> Tensor {
        let timing = OperationProfile.start(.linear, flops: 2 * x.count * outFeatures)
        defer { timing.stop() }
        precondition(x.shape.last == inFeatures && x.isContiguous, "Linear: expected [..., \(inFeatures)], got \(x.shape)")
        if precision == .bfloat16, let tape = arena.differenceTape {
            return tape.run(x, in: arena, operation: { apply($0, bias: bias, in: arena) }, linearPart: { apply($0, bias: nil, in: arena) })
        }
        return apply(x, bias: bias, in: arena)
    }

    private func apply(_ x: Tensor, bias: Tensor?, in arena: ScratchArena) -> Tensor {
        let rows = x.count / inFeatures
        let out = arena.tensor(Array(x.shape.dropLast()) + [outFeatures])
        if let bias {
            for r in 0..<rows { (out.data + r * outFeatures).update(from: bias.data, count: outFeatures) }
        }
        if let weight {
            Gemm.multiply(transposeB: true, m: rows, n: outFeatures, k: inFeatures, a: x.data, lda: inFeatures,
                          b: weight.data, ldb: inFeatures, beta: bias == nil ? 0 : 1, c: out.data, ldc: outFeatures)
        } else if let panels {
            arena.scope { multiplyPanels(panels, x.data, rows: rows, into: out.data, accumulate: bias != nil, arena: arena) }
        }
        return out
    }

    /// Rows per `fcs_conv_gemm` call, so that every row offset `row · in` fits its Int32 tables.
    private static func rowsPerChunk(_ inFeatures: Int) -> Int { max(1, Int(Int32.max) / max(inFeatures, 1)) }

    /// `out[r, o] (+)= Σ_i W[o, i] x[r, i]` as the GEMM C[o, r] = W · xᵀ written transposed.
    private func multiplyPanels(_ panels: StoredWeights, _ x: UnsafePointer<Float>, rows: Int,
                                into out: UnsafeMutablePointer<Float>, accumulate: Bool, arena: ScratchArena) {
        let chunk = min(rows, Linear.rowsPerChunk(inFeatures))
        let kOffset = arena.scratchInt32(inFeatures), nOffset = arena.scratchInt32(chunk)
        for i in 0..<inFeatures { kOffset[i] = Int32(i) }
        for r in 0..<chunk { nOffset[r] = Int32(r * inFeatures) }
        let gemmScratch = arena.scratch(ComputeThreads.count * fcs_conv_gemm_scratch_size())
        for row0 in stride(from: 0, to: rows, by: chunk) {
            panels.multiply(n: min(chunk, rows - row0), input: x + row0 * inFeatures, kOffset: kOffset, nOffset: nOffset,
                            into: out + row0 * outFeatures, ldc: outFeatures, transposeC: true, accumulate: accumulate,
                            scratch: gemmScratch)
        }
    }
}
