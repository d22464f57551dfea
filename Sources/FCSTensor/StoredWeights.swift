import _FCSKernels

/// How a layer keeps its weights, and so how its products are computed.
public enum WeightPrecision: Sendable, Equatable {
    /// float32 weights, float32 products.
    case float32
    /// float16 weights (half the memory; lossless for float16 checkpoints), widened to float32 a
    /// cache block at a time inside the GEMM: float32 products.
    case float16
    /// bfloat16 weights, and activations rounded to bfloat16 as they enter each product, with
    /// float32 accumulation: half the memory and, on CPUs with AVX512_BF16
    /// (``WeightPrecision/hasBFloat16Instructions``), about twice the multiply rate of float32.
    /// Elsewhere the same arithmetic runs in a portable loop, slower than float32.
    case bfloat16

    /// Whether this CPU multiplies bfloat16 with AVX512_BF16 instructions (`vdpbf16ps`).
    public static var hasBFloat16Instructions: Bool { fcs_conv_gemm_has_bf16_instructions() != 0 }

    var panelType: fcs_panel_type {
        switch self {
        case .float32: FCS_PANEL_F32
        case .float16: FCS_PANEL_F16
        case .bfloat16: FCS_PANEL_BF16
        }
    }
}

/// A layer's weight matrices packed once into a GEMM's panel layout, in the ``WeightPrecision``
/// asked for: the GEMM reads them as stored, whatever their element type.
public final class StoredWeights: @unchecked Sendable {  // immutable after init
    /// Which GEMM reads them.
    public enum Layout: Sendable {
        /// `fcs_conv_gemm`'s A operand: panels of rows (convolutions: output channels); also the
        /// layout of each tap of the 3×3 kernels `fcs_winograd_gemm` reads (``init(kernels:rows:columns:precision:)``).
        case rowPanels
        /// `fcs_linear`'s B operand: panels of 32 rows of W, read as columns of Wᵀ (linear layers).
        case columnPanels
    }

    public let precision: WeightPrecision
    public let layout: Layout
    /// Matrices held (a Winograd layer with float32 weights holds 16 or 36), each `rows × columns`.
    public let matrices: Int
    public let rows: Int
    public let columns: Int
    /// Bytes of one packed matrix.
    let matrixBytes: Int
    private let storage: UnsafeMutableRawPointer

    /// Packs `matrices` row-major `rows × columns` float32 matrices stored one after the other from `source`.
    public init(matrices: Int = 1, rows: Int, columns: Int, source: UnsafePointer<Float>, precision: WeightPrecision,
                layout: Layout = .rowPanels) {
        (self.matrices, self.rows, self.columns, self.precision, self.layout) = (matrices, rows, columns, precision, layout)
        matrixBytes = layout == .rowPanels ? fcs_conv_gemm_packed_bytes(rows, columns, precision.panelType)
                                           : fcs_linear_packed_bytes(rows, columns, precision.panelType)
        storage = UnsafeMutableRawPointer.allocate(byteCount: max(matrices * matrixBytes, 1), alignment: 64)
        for index in 0..<matrices {
            let matrix = source + index * rows * columns, packed = storage + index * matrixBytes
            switch layout {
            case .rowPanels: fcs_conv_gemm_pack_weight(matrix, rows, columns, precision.panelType, packed)
            case .columnPanels: fcs_linear_pack_weight(matrix, rows, columns, precision.panelType, packed)
            }
        }
    }

    /// Packs the 3×3 kernels `[rows][columns][3][3]` of a Winograd layer with 16-bit weights as
    /// `fcs_winograd_gemm` reads them, which forms the transformed matrices from them a cache block
    /// at a time; nil for float32 weights, which Winograd layers keep transformed.
    init?(kernels source: UnsafePointer<Float>, rows: Int, columns: Int, precision: WeightPrecision) {
        guard precision != .float32 else { return nil }
        (self.matrices, self.rows, self.columns, self.precision, self.layout) = (1, rows, columns, precision, .rowPanels)
        matrixBytes = fcs_winograd_kernels_packed_bytes(rows, columns, precision.panelType)
        storage = UnsafeMutableRawPointer.allocate(byteCount: max(matrixBytes, 1), alignment: 64)
        fcs_winograd_pack_kernels(source, rows, columns, precision.panelType, storage)
    }

    deinit { storage.deallocate() }

    /// Matrix `index`'s panels from row `row` (row panels: a multiple of `FCS_CONV_GEMM_MR`) on.
    func panels(_ index: Int = 0, fromRow row: Int = 0) -> UnsafeRawPointer {
        UnsafeRawPointer(storage + index * matrixBytes + fcs_conv_gemm_row_offset_bytes(row, columns, precision.panelType))
    }

    /// Bytes held.
    public var bytes: Int { matrices * matrixBytes }
}

extension StoredWeights {
    /// `C (+)= A · B` by `fcs_conv_gemm` for A = matrix `index` (all its rows) and B gathered as
    /// `input[kOffset[kk] + nOffset[j]]` for `n` columns, split across ``ComputeThreads`` along the
    /// larger dimension (columns in multiples of 32, rows in whole A panels). C[i, j] is
    /// `c[i · ldc + j]`, or `c[j · ldc + i]` when `transposeC`. `scratch` holds
    /// `ComputeThreads.count · fcs_conv_gemm_scratch_size()` floats.
    func multiply(_ index: Int = 0, n: Int, input: UnsafePointer<Float>, kOffset: UnsafePointer<Int32>, nOffset: UnsafePointer<Int32>,
                  into c: UnsafeMutablePointer<Float>, ldc: Int, transposeC: Bool = false, accumulate: Bool,
                  scratch: UnsafeMutablePointer<Float>) {
        let (m, k) = (rows, columns), scratchSize = fcs_conv_gemm_scratch_size()
        let splitColumns = n >= m
        let unitSize = splitColumns ? 32 : Int(FCS_CONV_GEMM_MR)
        let units = ((splitColumns ? n : m) + unitSize - 1) / unitSize
        let parts = m * n * k >= 1 << 19 ? units : 1  // below ~1 MFLOP a second thread costs more than it saves
        ComputeThreads.run(maxParts: parts) { part, parts in
            let range = ComputeThreads.partRange(units, part: part, parts: parts)
            let start = range.lowerBound * unitSize, end = min(range.upperBound * unitSize, splitColumns ? n : m)
            guard start < end else { return }
            let buffer = scratch + part * scratchSize, (transpose, add) = (transposeC ? 1 : 0, accumulate ? 1 : 0) as (Int32, Int32)
            if splitColumns {
                fcs_conv_gemm(m, end - start, k, precision.panelType, panels(index), input, kOffset, nOffset + start,
                              c + (transposeC ? start * ldc : start), ldc, transpose, add, buffer)
            } else {
                fcs_conv_gemm(end - start, n, k, precision.panelType, panels(index, fromRow: start), input, kOffset, nOffset,
                              c + (transposeC ? start : start * ldc), ldc, transpose, add, buffer)
            }
        }
    }
}
