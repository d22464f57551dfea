// Port of diffusers.models.upsampling.Upsample2D with use_conv: nearest ×2, then a 3×3 convolution.
import FCSTensor

struct Upsample2D: Sendable {
    let conv: Conv2d

    init(_ weights: WeightReader, channels: Int) throws(FCSError) {
        conv = try weights.conv2d("conv", in: channels, out: channels, kernel: 3, padding: .all(1))
    }

    func callAsFunction(_ hiddenStates: Tensor, in arena: ScratchArena) -> Tensor {
        arena.retaining { conv(upsampleNearest2x(hiddenStates, in: arena), in: arena) }
    }
}
