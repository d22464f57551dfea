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

/// A layer's weight matrices packed once into `fcs_conv_gemm`'s panel layout, in the
/// ``WeightPrecision`` asked for: the GEMM reads them as stored, whatever their element type.
public final class StoredWeights: @unchecked Sendable {  // immutable after init
    public let precision: WeightPrecision
    /// Matrices held (a Winograd layer holds 16), each `rows × columns`.
    public let matrices: Int
    public let rows: Int
    public let columns: Int
    /// Bytes of one packed matrix.
    let matrixBytes: Int
    private let storage: UnsafeMutableRawPointer

    /// Packs `matrices` row-major `rows × columns` float32 matrices stored one after the other from `source`.
    public init(matrices: Int = 1, rows: Int, columns: Int, source: UnsafePointer<Float>, precision: WeightPrecision) {
        (self.matrices, self.rows, self.columns, self.precision) = (matrices, rows, columns, precision)
        matrixBytes = fcs_conv_gemm_packed_bytes(rows, columns, precision.panelType)
        storage = UnsafeMutableRawPointer.allocate(byteCount: max(matrices * matrixBytes, 1), alignment: 64)
        for index in 0..<matrices {
            fcs_conv_gemm_pack_weight(source + index * rows * columns, rows, columns, precision.panelType,
                                      storage + index * matrixBytes)
        }
    }

    deinit { storage.deallocate() }

    /// Matrix `index`'s panels from row `row` (a multiple of `FCS_CONV_GEMM_MR`) on, for `fcs_conv_gemm`.
    func panels(_ index: Int = 0, fromRow row: Int = 0) -> UnsafeRawPointer {
        UnsafeRawPointer(storage + index * matrixBytes + fcs_conv_gemm_row_offset_bytes(row, columns, precision.panelType))
    }

    /// Bytes held.
    public var bytes: Int { matrices * matrixBytes }
}
