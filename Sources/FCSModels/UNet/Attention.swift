// Port of diffusers.models.attention_processor.Attention (AttnProcessor2_0) as SD 1.x's
// transformer blocks use it: no q/k/v bias, to_out.0 with bias, optional cross-attention.
import FCSTensor

struct Attention: Sendable {
    let toQ, toK, toV: Linear  // to_q, to_k, to_v
    let toOut: Linear          // to_out.0
    let heads: Int

    /// - Parameter crossAttentionDim: the context's width for cross-attention, nil for self-attention.
    init(_ weights: WeightReader, queryDim: Int, crossAttentionDim: Int?, heads: Int, dimHead: Int) throws(FCSError) {
        let inner = heads * dimHead
        toQ = try weights.linear("to_q", in: queryDim, out: inner, bias: false)
        toK = try weights.linear("to_k", in: crossAttentionDim ?? queryDim, out: inner, bias: false)
        toV = try weights.linear("to_v", in: crossAttentionDim ?? queryDim, out: inner, bias: false)
        toOut = try weights.linear("to_out.0", in: inner, out: queryDim)
        self.heads = heads
    }

    /// - Parameters:
    ///   - hiddenStates: `[B, N, queryDim]`.
    ///   - encoderHiddenStates: `[B, M, crossAttentionDim]` for cross-attention, nil for self-attention.
    func callAsFunction(_ hiddenStates: Tensor, encoderHiddenStates: Tensor? = nil, in arena: ScratchArena) -> Tensor {
        arena.retaining {
            let context = encoderHiddenStates ?? hiddenStates
            let attended = scaledDotProductAttention(query: toQ(hiddenStates, in: arena), key: toK(context, in: arena),
                                                     value: toV(context, in: arena), heads: heads, in: arena)
            return toOut(attended, in: arena)
        }
    }
}
