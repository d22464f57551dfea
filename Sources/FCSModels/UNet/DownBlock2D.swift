// Port of diffusers.models.unets.unet_2d_blocks.CrossAttnDownBlock2D, AttnDownBlock2D and
// DownBlock2D (the same loop with a transformer, a spatial attention or no attention): resnets,
// each followed by its attention when present, then an optional Downsample2D. Every
// intermediate output is a skip connection.
import FCSTensor

struct DownBlock2D: Sendable {
    let resnets: [ResnetBlock2D]
    let attentions: [BlockAttention]      // empty for DownBlock2D
    let downsampler: Downsample2D?        // downsamplers.0

    /// - Parameters:
    ///   - convAlgorithm: for the resnets' 3×3 convolutions; the model chooses it for the block's resolution.
    ///   - attention: builds each layer's attention; nil for DownBlock2D.
    init(_ weights: WeightReader, inChannels: Int, outChannels: Int, tembChannels: Int, layers: Int, addDownsample: Bool,
         convAlgorithm: Conv2d.Algorithm, groups: Int, eps: Float, downsamplePadding: Int, attention: BlockAttention.Factory?) throws(FCSError) {
        var resnets: [ResnetBlock2D] = [], attentions: [BlockAttention] = []
        for i in 0..<layers {
            resnets.append(try ResnetBlock2D(weights.scoped("resnets.\(i)"), inChannels: i == 0 ? inChannels : outChannels,
                                             outChannels: outChannels, tembChannels: tembChannels,
                                             groups: groups, eps: eps,
                                             convAlgorithm: convAlgorithm))
            if let attention { attentions.append(try attention(weights.scoped("attentions.\(i)"), outChannels)) }
        }
        (self.resnets, self.attentions) = (resnets, attentions)
        downsampler = addDownsample
            ? try Downsample2D(weights.scoped("downsamplers.0"), channels: outChannels, padding: downsamplePadding)
            : nil
    }

    /// - Returns: the block's output and the skip connections it leaves for the up path.
    func callAsFunction(_ hiddenStates: Tensor, temb: Tensor, encoderHiddenStates: Tensor?,
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
