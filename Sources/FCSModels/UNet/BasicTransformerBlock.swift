// Port of diffusers.models.attention.BasicTransformerBlock (norm_type "layer_norm", SD 1.x):
// self-attention, cross-attention, GEGLU feed-forward, each pre-norm with a residual.
import FCSTensor

struct BasicTransformerBlock: Sendable {
    let norm1, norm2, norm3: LayerNorm
    let attn1: Attention  // self
    let attn2: Attention  // cross, to the text encoder's states
    let ff: FeedForward

    /// - Parameter upcastAttention: diffusers' `upcast_attention` (SD 2.1), for both attentions.
    init(_ weights: WeightReader, dim: Int, heads: Int, dimHead: Int, crossAttentionDim: Int, upcastAttention: Bool) throws(FCSError) {
        norm1 = try weights.layerNorm("norm1", features: dim, eps: 1e-5)
        attn1 = try Attention(weights.scoped("attn1"), queryDim: dim, heads: heads, dimHead: dimHead, upcast: upcastAttention)
        norm2 = try weights.layerNorm("norm2", features: dim, eps: 1e-5)
        attn2 = try Attention(weights.scoped("attn2"), queryDim: dim, crossAttentionDim: crossAttentionDim, heads: heads, dimHead: dimHead,
                              upcast: upcastAttention)
        norm3 = try weights.layerNorm("norm3", features: dim, eps: 1e-5)
        ff = try FeedForward(weights.scoped("ff"), dim: dim)
    }

    /// - Parameters:
    ///   - hiddenStates: `[B, H·W, dim]`.
    ///   - encoderHiddenStates: `[B, 77, crossAttentionDim]`.
    func callAsFunction(_ hiddenStates: Tensor, encoderHiddenStates: Tensor, in arena: ScratchArena) -> Tensor {
        arena.retaining {
            // self attention
            var h = add(attn1(norm1(hiddenStates, in: arena), in: arena), hiddenStates, in: arena)
            // cross attention
            h = add(attn2(norm2(h, in: arena), encoderHiddenStates: encoderHiddenStates, in: arena), h, in: arena)
            // feed-forward
            return add(ff(norm3(h, in: arena), in: arena), h, in: arena)
        }
    }
}
