// Port of diffusers.models.unets.unet_2d_blocks.CrossAttnUpBlock2D, AttnUpBlock2D and
// UpBlock2D (the same loop with a transformer, a spatial attention or no attention): each
// resnet takes the running state concatenated with one skip connection (last in, first out),
// then its attention when present; then an optional Upsample2D.
import FCSTensor

struct UpBlock2D: Sendable {
    let resnets: [ResnetBlock2D]
    let attentions: [BlockAttention]      // empty for UpBlock2D
    let upsampler: Upsample2D?            // upsamplers.0

    /// Channel bookkeeping as diffusers' `get_up_block`: resnet i reads `prevOutputChannels`
    /// (i = 0) or `outChannels`, plus the skip's channels (`inChannels` for the last resnet).
    /// - Parameters:
    ///   - convAlgorithm: for the resnets' 3×3 convolutions, `upsamplerAlgorithm` for the
    ///     upsampler's (at twice the resolution); the model chooses them.
    ///   - attention: builds each layer's attention; nil for UpBlock2D.
    init(_ weights: WeightReader, inChannels: Int, prevOutputChannels: Int, outChannels: Int, tembChannels: Int, layers: Int,
         addUpsample: Bool, convAlgorithm: Conv2d.Algorithm, upsamplerAlgorithm: Conv2d.Algorithm = .automatic, groups: Int, eps: Float,
         attention: BlockAttention.Factory?) throws(FCSError) {
        var resnets: [ResnetBlock2D] = [], attentions: [BlockAttention] = []
        for i in 0..<layers {
            let skipChannels = i == layers - 1 ? inChannels : outChannels
            let resnetInChannels = i == 0 ? prevOutputChannels : outChannels
            resnets.append(try ResnetBlock2D(weights.scoped("resnets.\(i)"), inChannels: resnetInChannels + skipChannels,
                                             outChannels: outChannels, tembChannels: tembChannels,
                                             groups: groups, eps: eps,
                                             convAlgorithm: convAlgorithm))
            if let attention { attentions.append(try attention(weights.scoped("attentions.\(i)"), outChannels)) }
        }
        (self.resnets, self.attentions) = (resnets, attentions)
        upsampler = addUpsample ? try Upsample2D(weights.scoped("upsamplers.0"), channels: outChannels, algorithm: upsamplerAlgorithm) : nil
    }

    /// - Parameter skips: this block's skip connections, in the order the down path made them.
    func callAsFunction(_ hiddenStates: Tensor, skips: [Tensor], temb: Tensor, encoderHiddenStates: Tensor?,
                        in arena: ScratchArena) -> Tensor {
        var h = hiddenStates
        for (i, resnet) in resnets.enumerated() {
            h = arena.retaining { resnet(concatChannels([h, skips[skips.count - 1 - i]], in: arena), temb: temb, in: arena) }
            if !attentions.isEmpty { h = attentions[i](h, encoderHiddenStates: encoderHiddenStates, in: arena) }
        }
        if let upsampler { h = upsampler(h, in: arena) }
        return h
    }
}
