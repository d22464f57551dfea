import FCSTensor

/// transformers' `CLIPEncoderLayer` (modeling_clip.py): pre-norm causal self-attention and MLP,
/// each with a residual.
struct CLIPEncoderLayer: Sendable {
    let layerNorm1: LayerNorm   // layer_norm1
    let qProj, kProj, vProj, outProj: Linear  // self_attn.{q,k,v,out}_proj
    let layerNorm2: LayerNorm   // layer_norm2
    let fc1, fc2: Linear        // mlp.fc1, mlp.fc2
    let heads: Int
    let quickGELUActivation: Bool

    init(_ weights: WeightReader, config: CLIPTextConfig) throws(FCSError) {
        let (width, inner) = (config.hiddenSize, config.intermediateSize)
        layerNorm1 = try weights.layerNorm("layer_norm1", features: width, eps: config.layerNormEps)
        qProj = try weights.linear("self_attn.q_proj", in: width, out: width)
        kProj = try weights.linear("self_attn.k_proj", in: width, out: width)
        vProj = try weights.linear("self_attn.v_proj", in: width, out: width)
        outProj = try weights.linear("self_attn.out_proj", in: width, out: width)
        layerNorm2 = try weights.layerNorm("layer_norm2", features: width, eps: config.layerNormEps)
        fc1 = try weights.linear("mlp.fc1", in: width, out: inner)
        fc2 = try weights.linear("mlp.fc2", in: inner, out: width)
        heads = config.numAttentionHeads
        quickGELUActivation = config.hiddenAct == "quick_gelu"
    }

    /// - Parameter hiddenStates: `[B, tokens, width]`.
    func callAsFunction(_ hiddenStates: Tensor, in arena: ScratchArena) -> Tensor {
        // causal self attention
        var h = layerNorm1(hiddenStates, in: arena)
        h = scaledDotProductAttention(query: qProj(h, in: arena), key: kProj(h, in: arena), value: vProj(h, in: arena),
                                      heads: heads, causal: true, in: arena)
        let afterAttention = add(hiddenStates, outProj(h, in: arena), in: arena)
        // MLP
        h = fc1(layerNorm2(afterAttention, in: arena), in: arena)  // [B, tokens, inner]
        h = quickGELUActivation ? quickGELU(h, in: arena) : gelu(h, in: arena)
        return add(afterAttention, fc2(h, in: arena), in: arena)
    }
}
