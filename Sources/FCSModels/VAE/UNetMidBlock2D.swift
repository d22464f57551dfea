// Port of diffusers.models.unets.unet_2d_blocks.UNetMidBlock2D as the VAE uses it (no time
// embedding, eps 1e-6): resnet, spatial self-attention (one head over all channels), resnet.
import FCSTensor

struct UNetMidBlock2D: Sendable {
    let resnets: [ResnetBlock2D]
    let attentions: [Attention]  // empty when mid_block_add_attention is false

    init(_ weights: WeightReader, channels: Int, groups: Int, addAttention: Bool, size: Int) throws(FCSError) {
        var resnets: [ResnetBlock2D] = []
        for i in 0..<2 {
            resnets.append(try ResnetBlock2D(weights.scoped("resnets.\(i)"), inChannels: channels, outChannels: channels, tembChannels: nil,
                                             groups: groups, eps: 1e-6, convAlgorithm: .preferred(forOutputSize: size)))
        }
        self.resnets = resnets
        // attention_head_dim = channels: a single head
        attentions = addAttention
            ? [try Attention(weights.scoped("attentions.0"), queryDim: channels, heads: 1, dimHead: channels, bias: true,
                             normNumGroups: groups, eps: 1e-6)]
            : []
    }

    func callAsFunction(_ hiddenStates: Tensor, in arena: ScratchArena) -> Tensor {
        var h = resnets[0](hiddenStates, temb: nil, in: arena)
        if let attention = attentions.first { h = attention(spatial: h, in: arena) }
        return resnets[1](h, temb: nil, in: arena)
    }
}
