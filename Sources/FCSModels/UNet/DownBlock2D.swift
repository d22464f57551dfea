// Port of diffusers.models.unets.unet_2d_blocks.CrossAttnDownBlock2D and DownBlock2D (the
// latter is the same without attentions): resnets, each followed by a Transformer2DModel when
// present, then an optional Downsample2D. Every intermediate output is a skip connection.
import FCSTensor

struct DownBlock2D: Sendable {
    let resnets: [ResnetBlock2D]
    let attentions: [Transformer2DModel]  // empty for DownBlock2D
    let downsampler: Downsample2D?        // downsamplers.0

    /// - Parameter size: the nominal side of the block's feature maps (for choosing conv algorithms).
    init(_ weights: WeightReader, inChannels: Int, outChannels: Int, tembChannels: Int, layers: Int, addDownsample: Bool,
         size: Int, crossAttention: UNet2DConditionModel.CrossAttention?, config: UNet2DConditionModelConfig) throws(FCSError) {
        var resnets: [ResnetBlock2D] = [], attentions: [Transformer2DModel] = []
        for i in 0..<layers {
            resnets.append(try ResnetBlock2D(weights.scoped("resnets.\(i)"), inChannels: i == 0 ? inChannels : outChannels,
                                             outChannels: outChannels, tembChannels: tembChannels,
                                             groups: config.normNumGroups, eps: config.normEps,
                                             convAlgorithm: .preferred(forOutputSize: size)))
            if let crossAttention {
                attentions.append(try crossAttention.transformer(weights.scoped("attentions.\(i)"), channels: outChannels))
            }
        }
        (self.resnets, self.attentions) = (resnets, attentions)
        downsampler = addDownsample
            ? try Downsample2D(weights.scoped("downsamplers.0"), channels: outChannels, padding: config.downsamplePadding)
            : nil
    }

    /// - Returns: the block's output and the skip connections it leaves for the up path.
    func callAsFunction(_ hiddenStates: Tensor, temb: Tensor, encoderHiddenStates: Tensor,
                        in arena: ScratchArena) -> (Tensor, skips: [Tensor]) {
        var h = hiddenStates
        var skips: [Tensor] = []
        for (i, resnet) in resnets.enumerated() {
            h = resnet(h, temb: temb, in: arena)
            if !attentions.isEmpty { h = attentions[i](h, encoderHiddenStates: encoderHiddenStates, in: arena) }
            skips.append(h)
        }
        if let downsampler {
            h = downsampler(h, in: arena)
            skips.append(h)
        }
        return (h, skips)
    }
}
