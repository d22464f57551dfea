// Port of diffusers.models.unets.unet_2d_blocks.UNetMidBlock2DCrossAttn (one transformer layer):
// resnet, Transformer2DModel, resnet.
import FCSTensor

struct UNetMidBlock2DCrossAttn: Sendable {
    let resnets: [ResnetBlock2D]
    let attentions: [BlockAttention]

    /// - Parameter convAlgorithm: for the resnets' 3×3 convolutions; the model chooses it for the block's resolution.
    init(_ weights: WeightReader, channels: Int, tembChannels: Int, convAlgorithm: Conv2d.Algorithm, crossAttention: BlockAttention.Factory,
         config: UNet2DConditionModelConfig) throws(FCSError) {
        var resnets: [ResnetBlock2D] = []
        for i in 0..<2 {
            resnets.append(try ResnetBlock2D(weights.scoped("resnets.\(i)"), inChannels: channels, outChannels: channels,
                                             tembChannels: tembChannels, groups: config.normNumGroups, eps: config.normEps,
                                             outputScaleFactor: config.midBlockScaleFactor,
                                             convAlgorithm: convAlgorithm))
        }
        self.resnets = resnets
        attentions = [try crossAttention(weights.scoped("attentions.0"), channels)]
    }

    func callAsFunction(_ hiddenStates: Tensor, temb: Tensor, encoderHiddenStates: Tensor, in arena: ScratchArena) -> Tensor {
        var h = resnets[0](hiddenStates, temb: temb, in: arena)
        h = attentions[0](h, encoderHiddenStates: encoderHiddenStates, in: arena)
        return resnets[1](h, temb: temb, in: arena)
    }
}
