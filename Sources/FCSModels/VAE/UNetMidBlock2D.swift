// Port of diffusers.models.unets.unet_2d_blocks.UNetMidBlock2D: resnet, spatial self-attention,
// resnet. The VAE uses it without a time embedding (eps 1e-6, one head over all channels);
// pixel-space UNet2DModels with one (their norm eps, heads of attention_head_dim channels).
import FCSTensor

struct UNetMidBlock2D: Sendable {
    let resnets: [ResnetBlock2D]
    let attentions: [Attention]  // empty when mid_block_add_attention is false

    /// - Parameters:
    ///   - attentionHeadDim: channels per attention head; nil for one head (the VAE).
    ///   - attentionGroups: GroupNorm groups of the attention (diffusers' attn_groups), nil = `groups`.
    ///   - convAlgorithm: for the resnets' 3×3 convolutions; the model chooses it for the block's resolution.
    init(_ weights: WeightReader, channels: Int, groups: Int, addAttention: Bool, convAlgorithm: Conv2d.Algorithm, tembChannels: Int? = nil,
         eps: Float = 1e-6, attentionHeadDim: Int? = nil, attentionGroups: Int? = nil, outputScaleFactor: Float = 1) throws(FCSError) {
        var resnets: [ResnetBlock2D] = []
        for i in 0..<2 {
            resnets.append(try ResnetBlock2D(weights.scoped("resnets.\(i)"), inChannels: channels, outChannels: channels,
                                             tembChannels: tembChannels, groups: groups, eps: eps, outputScaleFactor: outputScaleFactor,
                                             convAlgorithm: convAlgorithm))
        }
        self.resnets = resnets
        let headDim = attentionHeadDim ?? channels
        attentions = addAttention
            ? [try Attention(weights.scoped("attentions.0"), queryDim: channels, heads: channels / headDim, dimHead: headDim,
                             bias: true, normNumGroups: attentionGroups ?? groups, eps: eps)]
            : []
    }

    func callAsFunction(_ hiddenStates: Tensor, temb: Tensor? = nil, in arena: ScratchArena) -> Tensor {
        var h = resnets[0](hiddenStates, temb: temb, in: arena)
        if let attention = attentions.first { h = attention(spatial: h, in: arena) }
        return resnets[1](h, temb: temb, in: arena)
    }
}
