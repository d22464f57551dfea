// Port of diffusers.models.attention_processor.Attention with AttnProcessor2_0, in the two
// configurations SD 1.x and 2.x use:
// * UNet transformer blocks: token input [B, N, C], no q/k/v bias, self- or cross-attention;
// * the VAE's mid-block: spatial input [B, C, H, W], q/k/v bias, GroupNorm before, one head,
//   residual connection (`residual_connection=True`, `rescale_output_factor=1`).
import FCSTensor

struct Attention: Sendable {
    let groupNorm: GroupNorm?  // group_norm
    let toQ, toK, toV: Linear  // to_q, to_k, to_v
    let toOut: Linear          // to_out.0
    let heads: Int
    /// diffusers' `upcast_attention`: q·k and the softmax in float32 even when the layers run in
    /// bf16 (SD 2.1's attention logits are large enough that 8-bit mantissas move them visibly).
    let upcast: Bool

    /// - Parameters:
    ///   - crossAttentionDim: the context's width for cross-attention, nil for self-attention.
    ///   - bias: whether to_q / to_k / to_v have a bias.
    ///   - normNumGroups: GroupNorm groups applied to the input first (the VAE), or nil.
    ///   - upcast: diffusers' `upcast_attention` (see ``upcast``).
    init(_ weights: WeightReader, queryDim: Int, crossAttentionDim: Int? = nil, heads: Int, dimHead: Int,
         bias: Bool = false, normNumGroups: Int? = nil, eps: Float = 1e-5, upcast: Bool = false) throws(FCSError) {
        let inner = heads * dimHead
        groupNorm = try normNumGroups.map { (groups: Int) throws(FCSError) in
            GroupNorm(groups: groups, weight: try weights.tensor("group_norm.weight", shape: [queryDim]),
                      bias: try weights.tensor("group_norm.bias", shape: [queryDim]), eps: eps)
        }
        toQ = try weights.linear("to_q", in: queryDim, out: inner, bias: bias)
        toK = try weights.linear("to_k", in: crossAttentionDim ?? queryDim, out: inner, bias: bias)
        toV = try weights.linear("to_v", in: crossAttentionDim ?? queryDim, out: inner, bias: bias)
        toOut = try weights.linear("to_out.0", in: inner, out: queryDim)
        self.heads = heads
        self.upcast = upcast
    }

    /// Token input.
    /// - Parameters:
    ///   - hiddenStates: `[B, N, queryDim]`.
    ///   - encoderHiddenStates: `[B, M, crossAttentionDim]` for cross-attention, nil for self-attention.
    ///   - recordedInput: how a difference tape recomputes `hiddenStates`, if it can.
    func callAsFunction(_ hiddenStates: Tensor, encoderHiddenStates: Tensor? = nil, recordedInput: RecordedValue? = nil,
                        in arena: ScratchArena) -> Tensor {
        arena.retaining {
            attend(hiddenStates, context: encoderHiddenStates ?? hiddenStates, recordedInput: recordedInput,
                   recordedContext: encoderHiddenStates == nil ? recordedInput : nil, in: arena)
        }
    }

    /// Spatial input with a residual connection (the VAE's mid-block attention).
    /// - Parameter hiddenStates: `[B, C, H, W]`.
    func callAsFunction(spatial hiddenStates: Tensor, in arena: ScratchArena) -> Tensor {
        let (batch, channels, height, width) = (hiddenStates.shape[0], hiddenStates.shape[1], hiddenStates.shape[2], hiddenStates.shape[3])
        return arena.retaining {
            let normed = groupNorm.map { $0(hiddenStates, in: arena) } ?? hiddenStates
            let tokens = transposeLastTwo(normed.reshaped([batch, channels, height * width]), in: arena)  // [B, HW, C]
            let attended = attend(tokens, context: tokens, in: arena)
            let spatial = transposeLastTwo(attended, in: arena).reshaped(hiddenStates.shape)              // [B, C, H, W]
            return add(spatial, hiddenStates, in: arena)
        }
    }

    private func attend(_ hiddenStates: Tensor, context: Tensor, recordedInput: RecordedValue? = nil,
                        recordedContext: RecordedValue? = nil, in arena: ScratchArena) -> Tensor {
        let attended = scaledDotProductAttention(query: toQ(hiddenStates, in: arena, recordedInput: recordedInput),
                                                 key: toK(context, in: arena, recordedInput: recordedContext),
                                                 value: toV(context, in: arena, recordedInput: recordedContext), heads: heads,
                                                 precision: upcast ? .float32 : toQ.precision,
                                                 in: arena)
        return toOut(attended, in: arena)
    }
}
