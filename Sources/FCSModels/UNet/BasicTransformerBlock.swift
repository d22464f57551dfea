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
    ///   - recordedInput: how a difference tape recomputes `hiddenStates`, if it can.
    /// - Returns: the block's output, and how a difference tape recomputes it. The residual stream
    ///   is a sum of the recorded outputs of each part's last layer, so none of the norms' outputs
    ///   needs keeping on the tape.
    func callAsFunction(_ hiddenStates: Tensor, encoderHiddenStates: Tensor, recordedInput: RecordedValue? = nil,
                        in arena: ScratchArena) -> (output: Tensor, recorded: RecordedValue?) {
        var recorded = recordedInput
        // part(h) + h, and the sum as recorded: the part's last layer's recorded output plus recorded h
        func residual(_ h: Tensor, _ part: (Tensor, RecordedValue?) -> Tensor) -> Tensor {
            let sum = add(part(h, recorded), h, in: arena)
            recorded = recorded.flatMap { h in RecordedValue.lastOutput(in: arena)?.combined(with: h) { add($0, $1, in: arena) } }
            return sum
        }
        let output = arena.retaining {
            // self attention
            var h = residual(hiddenStates) { h, recorded in
                attn1(norm1(h, in: arena), recordedInput: recorded?.map { norm1($0, in: arena) }, in: arena)
            }
            // cross attention
            h = residual(h) { h, recorded in
                attn2(norm2(h, in: arena), encoderHiddenStates: encoderHiddenStates,
                      recordedInput: recorded?.map { norm2($0, in: arena) }, in: arena)
            }
            // feed-forward
            return residual(h) { h, recorded in ff(norm3(h, in: arena), recordedInput: recorded?.map { norm3($0, in: arena) }, in: arena) }
        }
        return (output, recorded)
    }
}
