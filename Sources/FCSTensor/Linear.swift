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
        let scratchSize = fcs_conv_gemm_scratch_size()
        let gemmScratch = arena.scratch(ComputeThreads.count * scratchSize)
        let (m, panelType) = (outFeatures, precision.panelType)
        for row0 in stride(from: 0, to: rows, by: chunk) {
            let n = min(chunk, rows - row0)
            let input = x + row0 * inFeatures, output = out + row0 * outFeatures
            // Split the larger dimension: rows in multiples of 32, features in whole A panels.
            let splitRows = n >= m
            let unitSize = splitRows ? 32 : Int(FCS_CONV_GEMM_MR)
            let units = ((splitRows ? n : m) + unitSize - 1) / unitSize
            let parts = m * n * inFeatures >= 1 << 19 ? units : 1  // below ~1 MFLOP a second thread costs more than it saves
            ComputeThreads.run(maxParts: parts) { part, parts in
                let range = ComputeThreads.partRange(units, part: part, parts: parts)
                let start = range.lowerBound * unitSize, end = min(range.upperBound * unitSize, splitRows ? n : m)
                guard start < end else { return }
                let buffer = gemmScratch + part * scratchSize
                if splitRows {
                    fcs_conv_gemm(m, end - start, inFeatures, panelType, panels.panels(), input, kOffset, nOffset + start,
                                  output + start * outFeatures, outFeatures, 1, accumulate ? 1 : 0, buffer)
                } else {
                    fcs_conv_gemm(end - start, n, inFeatures, panelType, panels.panels(fromRow: start), input, kOffset, nOffset,
                                  output + start, outFeatures, 1, accumulate ? 1 : 0, buffer)
                }
            }
        }
    }
}
