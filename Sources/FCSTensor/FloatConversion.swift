import _FCSKernels

/// Vectorised conversions between float32 and the 16-bit float formats of checkpoints.
/// Rounding is IEEE round-to-nearest-even, as PyTorch's `.half()` and `.bfloat16()`.
public enum FloatConversion {
    public static func float16ToFloat(_ source: UnsafePointer<UInt16>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        fcs_f16_to_f32(source, destination, count)
    }

    public static func floatToFloat16(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, count: Int) {
        fcs_f32_to_f16(source, destination, count)
    }

    public static func bfloat16ToFloat(_ source: UnsafePointer<UInt16>, _ destination: UnsafeMutablePointer<Float>, count: Int) {
        fcs_bf16_to_f32(source, destination, count)
    }

    public static func floatToBFloat16(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, count: Int) {
        fcs_f32_to_bf16(source, destination, count)
    }
}
