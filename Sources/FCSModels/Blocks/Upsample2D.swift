// Port of diffusers.models.upsampling.Upsample2D with use_conv: nearest ×2, then a 3×3 convolution.
import FCSTensor

struct Upsample2D: Sendable {
    let conv: Conv2d

    init(_ weights: WeightReader, channels: Int, algorithm: Conv2d.Algorithm = .automatic) throws(FCSError) {
        conv = try weights.conv2d("conv", in: channels, out: channels, kernel: 3, padding: .all(1), algorithm: algorithm)
    }

    /// - Parameter start: a mark taken before `hiddenStates` was allocated, for callers done
    ///   with it (the result replaces it); nil: the result goes after it.
    func callAsFunction(_ hiddenStates: Tensor, resultAt start: ScratchArena.Mark? = nil, in arena: ScratchArena) -> Tensor {
        arena.retaining(from: start ?? arena.mark()) { conv(upsampleNearest2x(hiddenStates, in: arena), in: arena) }
    }
}
