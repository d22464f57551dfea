/// How a layer keeps its (packed) weights between calls.
public enum WeightPrecision: Sendable {
    /// float32: fastest.
    case float32
    /// float16, widened to float32 in scratch memory each time the layer runs: half the
    /// memory, one conversion pass per layer call. Lossless for float16 checkpoints.
    case float16
}

/// A layer's weights after packing, in the ``WeightPrecision`` asked for. Layers ask for float32
/// values with ``float32(in:)`` at the start of each call.
public final class StoredWeights: @unchecked Sendable {  // immutable after init
    public let count: Int
    public let precision: WeightPrecision
    private let float32: Tensor?
    private let float16: UnsafeMutablePointer<UInt16>?

    /// - Parameter packed: float32 values in the layout the kernel wants.
    public init(_ packed: Tensor, precision: WeightPrecision) {
        precondition(packed.isContiguous, "StoredWeights: packed weights must be contiguous")
        count = packed.count
        self.precision = precision
        switch precision {
        case .float32:
            float32 = packed
            float16 = nil
        case .float16:
            let half = UnsafeMutablePointer<UInt16>.allocate(capacity: max(count, 1))
            FloatConversion.floatToFloat16(packed.data, half, count: count)
            float32 = nil
            float16 = half
        }
    }

    deinit { float16?.deallocate() }

    /// The weights as float32: the stored values, or float16 widened into `arena` (released with
    /// the caller's scope).
    public func float32(in arena: ScratchArena) -> UnsafeMutablePointer<Float> {
        if let float32 { return float32.data }
        let widened = arena.scratch(count), half = float16!
        ComputeThreads.forEachRange(count, minimumPerPart: 1 << 16) { range in
            FloatConversion.float16ToFloat(half + range.lowerBound, widened + range.lowerBound, count: range.count)
        }
        return widened
    }

    /// Bytes held.
    public var bytes: Int { count * (precision == .float32 ? 4 : 2) }
}
