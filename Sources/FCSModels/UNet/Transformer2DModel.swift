// Port of diffusers.models.transformers.transformer_2d.Transformer2DModel, continuous input
// (SD 1.x): GroupNorm, proj_in (1×1 conv, or Linear when use_linear_projection), transformer
// blocks over the H·W tokens, proj_out, residual.
import FCSTensor

struct Transformer2DModel: Sendable {
    enum Projection: Sendable {
        case convolution(Conv2d)
        case linear(Linear)
    }

    let norm: GroupNorm
    let projIn, projOut: Projection
    let transformerBlocks: [BasicTransformerBlock]

    init(_ weights: WeightReader, heads: Int, dimHead: Int, inChannels: Int, layers: Int, crossAttentionDim: Int,
         normNumGroups: Int, useLinearProjection: Bool, upcastAttention: Bool) throws(FCSError) {
        let inner = heads * dimHead
        norm = GroupNorm(groups: normNumGroups, weight: try weights.tensor("norm.weight", shape: [inChannels]),
                         bias: try weights.tensor("norm.bias", shape: [inChannels]), eps: 1e-6)
        if useLinearProjection {
            projIn = .linear(try weights.linear("proj_in", in: inChannels, out: inner))
            projOut = .linear(try weights.linear("proj_out", in: inner, out: inChannels))
        } else {
            projIn = .convolution(try weights.conv2d("proj_in", in: inChannels, out: inner, kernel: 1, padding: .all(0)))
            projOut = .convolution(try weights.conv2d("proj_out", in: inner, out: inChannels, kernel: 1, padding: .all(0)))
        }
        var blocks: [BasicTransformerBlock] = []
        for i in 0..<layers {
            blocks.append(try BasicTransformerBlock(weights.scoped("transformer_blocks.\(i)"), dim: inner, heads: heads,
                                                    dimHead: dimHead, crossAttentionDim: crossAttentionDim,
                                                    upcastAttention: upcastAttention))
        }
        transformerBlocks = blocks
    }

    /// - Parameters:
    ///   - hiddenStates: `[B, C, H, W]`.
    ///   - encoderHiddenStates: `[B, 77, crossAttentionDim]`.
    func callAsFunction(_ hiddenStates: Tensor, encoderHiddenStates: Tensor, in arena: ScratchArena) -> Tensor {
        let (batch, height, width) = (hiddenStates.shape[0], hiddenStates.shape[2], hiddenStates.shape[3])
        return arena.retaining {
            var h = norm(hiddenStates, in: arena)
            // [B, C, H, W] → [B, H·W, inner]; the blocks' inputs and proj_out's are sums of recorded
            // outputs (proj_in's and the blocks' parts'), which a difference tape need not keep
            var recorded: RecordedValue?
            switch projIn {
            case .convolution(let conv):
                let projected = conv(h, in: arena)
                func tokens(_ projected: Tensor) -> Tensor {
                    transposeLastTwo(projected.reshaped([batch, projected.shape[1], height * width]), in: arena)
                }
                recorded = RecordedValue.lastOutput(in: arena)?.map(tokens)
                h = tokens(projected)
            case .linear(let linear):
                h = linear(transposeLastTwo(h.reshaped([batch, h.shape[1], height * width]), in: arena), in: arena)
                recorded = RecordedValue.lastOutput(in: arena)
            }
            for block in transformerBlocks {
                (h, recorded) = block(h, encoderHiddenStates: encoderHiddenStates, recordedInput: recorded, in: arena)
            }
            // [B, H·W, inner] → [B, C, H, W]
            switch projOut {
            case .convolution(let conv):
                func spatial(_ h: Tensor) -> Tensor { transposeLastTwo(h, in: arena).reshaped([batch, h.shape[2], height, width]) }
                h = conv(spatial(h), in: arena, recordedInput: recorded?.map(spatial))
            case .linear(let linear):
                let projected = linear(h, in: arena, recordedInput: recorded)
                h = transposeLastTwo(projected, in: arena).reshaped([batch, projected.shape[2], height, width])
            }
            return add(h, hiddenStates, in: arena)
        }
    }
}
