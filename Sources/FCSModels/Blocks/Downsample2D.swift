// Port of diffusers.models.downsampling.Downsample2D with use_conv: a 3×3 stride-2 convolution.
// padding 1 (UNet); padding 0 pads (0, 1, 0, 1) first, as SD's VAE encoder does.
import FCSTensor

struct Downsample2D: Sendable {
    let conv: Conv2d

    init(_ weights: WeightReader, channels: Int, padding: Int) throws(FCSError) {
        conv = try weights.conv2d("conv", in: channels, out: channels, kernel: 3, stride: 2,
                                  padding: padding == 0 ? Conv2d.Padding(top: 0, bottom: 1, left: 0, right: 1) : .all(padding))
    }

    func callAsFunction(_ hiddenStates: Tensor, in arena: ScratchArena) -> Tensor { conv(hiddenStates, in: arena) }
}
