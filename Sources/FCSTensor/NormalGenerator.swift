#if canImport(Glibc)
import Glibc
#endif

/// A seeded generator of standard normal float32 values, identical on every machine.
///
/// Uniform 64-bit words come from SplitMix64 (Steele, Lea & Flood 2014: add 0x9E3779B97F4A7C15,
/// then the two xor-shift-multiply rounds); pairs of 53-bit uniforms u1 ∈ (0, 1], u2 ∈ [0, 1)
/// become normals by Box–Muller, `√(-2 ln u1) · cos(2π u2)` then `· sin(2π u2)`, computed in double
/// and rounded to float. Anyone can reproduce a stream from this description.
public struct NormalGenerator: Sendable {
    private var state: UInt64
    private var spare: Float?

    public init(seed: UInt64) { state = seed }

    /// The next SplitMix64 word.
    public mutating func nextWord() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next standard normal value.
    public mutating func next() -> Float {
        if let value = spare {
            spare = nil
            return value
        }
        let u1 = Double(nextWord() >> 11 + 1) * 0x1p-53, u2 = Double(nextWord() >> 11) * 0x1p-53
        let radius = (-2 * log(u1)).squareRoot(), angle = 2 * Double.pi * u2
        spare = Float(radius * sin(angle))
        return Float(radius * cos(angle))
    }

    /// A new tensor of `shape` filled with normal values times `scale`.
    public mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        let t = Tensor(zeros: shape)
        for i in 0..<t.count { t.data[i] = next() * scale }
        return t
    }
}
