// The attention that follows each resnet in a UNet block: a Transformer2DModel with
// cross-attention to the text (diffusers' CrossAttn*Block2D, SD's UNet) or a spatial
// self-attention (Attn*Block2D, pixel-space UNet2DModels). The blocks' loops are the same.
import FCSTensor

enum BlockAttention: Sendable {
    case transformer(Transformer2DModel)
    case spatial(Attention)

    /// Builds the attention of one block layer from its weights and channel count.
    typealias Factory = (WeightReader, _ channels: Int) throws(FCSError) -> BlockAttention

    /// - Parameter encoderHiddenStates: the text states (transformer attention only).
    func callAsFunction(_ hiddenStates: Tensor, encoderHiddenStates: Tensor?, in arena: ScratchArena) -> Tensor {
        switch self {
        case .transformer(let transformer):
            guard let encoderHiddenStates else { preconditionFailure("cross-attention blocks need encoder hidden states") }
            return transformer(hiddenStates, encoderHiddenStates: encoderHiddenStates, in: arena)
        case .spatial(let attention):
            return attention(spatial: hiddenStates, in: arena)
        }
    }

    /// Diffusers' Attn*Block2D attention: GroupNorm, `channels / headDim` heads, q/k/v bias,
    /// residual connection.
    static func spatial(headDim: Int, groups: Int, eps: Float) -> Factory {
        { (weights: WeightReader, channels: Int) throws(FCSError) in
            .spatial(try Attention(weights, queryDim: channels, heads: channels / headDim, dimHead: headDim, bias: true,
                                   normNumGroups: groups, eps: eps))
        }
    }
}
