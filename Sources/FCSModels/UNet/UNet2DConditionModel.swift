// Port of diffusers.models.unets.unet_2d_condition.UNet2DConditionModel for SD 1.x-shaped
// configs: conv_in, sinusoidal time_proj + time_embedding, down blocks, mid block, up blocks
// fed by the skip connections, conv_norm_out + SiLU, conv_out.
import FCSTensor

/// The ε-predicting denoiser of Stable Diffusion 1.x.
public struct UNet2DConditionModel: Sendable {
    public let config: UNet2DConditionModelConfig
    /// The precision its layers compute in (all share the one they were loaded with).
    public var precision: WeightPrecision { convIn.precision }
    let convIn: Conv2d                 // conv_in
    let timeEmbedding: TimestepEmbedding  // time_embedding
    let downBlocks: [DownBlock2D]      // down_blocks.N
    let midBlock: UNetMidBlock2DCrossAttn  // mid_block
    let upBlocks: [UpBlock2D]          // up_blocks.N
    let convNormOut: GroupNorm         // conv_norm_out (+ conv_act SiLU)
    let convOut: Conv2d                // conv_out

    /// The 3×3 convolutions' algorithm at a level whose outputs are `outputSize`² (nominal, from
    /// `sample_size`): Winograd from 32×32 up, not from 16×16 as for speed alone. Its transformed
    /// weights take 16/9 of the memory, and SD 1.5's 16×16 level holds the widest layers: 285 MiB
    /// more in 16 bits (a tenth of a 512² inpainting's memory) for about a fifth of that level's
    /// convolution time: an estimated 2–3 % of a forward (`fcs bench ops`' 16² rows times the
    /// level's layers; whole forwards timed on a shared machine showed no difference beyond noise).
    /// That was for stored transformed matrices; 16-bit layers now form them per call from their 3×3
    /// weights, which at 16×16 costs what Winograd saves (`fcs bench ops --weights fp16`: 45 ms
    /// against implicit GEMM's 43 for 1280 channels). For the same reason F(4×4) (4× the weight memory, for float32 weights) only from 64×64 up:
    /// there it halves the level's 3×3 time for 147 MB; at 32×32 it would cost 557 MB more than
    /// F(2×2) for about 2 % of a forward (`fcs bench winograd`). 16-bit layers hold their 3×3
    /// weights whatever the variant, so float16 ones run F(4×4) at 32×32 too (bfloat16 ones F(2×2),
    /// ``Conv2d/Algorithm-swift.enum/automatic``).
    static func convAlgorithm(forOutputSize outputSize: Int) -> Conv2d.Algorithm {
        outputSize >= 64 ? .preferred(forOutputSize: outputSize) : outputSize >= 32 ? .automaticF2 : .implicitGEMM
    }

    /// The Transformer2DModels of the blocks at down-block level `level` (or the up level mirroring it).
    static func crossAttention(level: Int, config: UNet2DConditionModelConfig) -> BlockAttention.Factory {
        let heads = config.heads(level: level), layers = config.transformerLayers(level: level)
        return { (weights: WeightReader, channels: Int) throws(FCSError) in
            .transformer(try Transformer2DModel(weights, heads: heads, dimHead: channels / heads, inChannels: channels,
                                                layers: layers, crossAttentionDim: config.crossAttentionDim,
                                                normNumGroups: config.normNumGroups, useLinearProjection: config.useLinearProjection,
                                                upcastAttention: config.upcastAttention))
        }
    }

    /// - Parameter weights: a reader over `unet/diffusion_pytorch_model.safetensors` (diffusers names).
    /// - Throws: `.format` for a config value fcs refuses (see ``ConfigLimits``), a missing or
    ///   mis-shaped tensor.
    public init(config: UNet2DConditionModelConfig, weights: WeightReader) throws(FCSError) {
        try config.validate(source: "UNet2DConditionModel config")
        self.config = config
        let channels = config.blockOutChannels, levels = channels.count
        let timeEmbedDim = channels[0] * 4
        convIn = try weights.conv2d("conv_in", in: config.inChannels, out: channels[0], kernel: 3, padding: .all(1))
        timeEmbedding = try TimestepEmbedding(weights.scoped("time_embedding"), inChannels: channels[0], timeEmbedDim: timeEmbedDim,
                                              condProjDim: config.timeCondProjDim)

        // validate() admits only CrossAttn*Block2D and plain *Block2D
        func attention(_ type: String, level: Int) -> BlockAttention.Factory? {
            type.hasPrefix("CrossAttn") ? Self.crossAttention(level: level, config: config) : nil
        }
        var downBlocks: [DownBlock2D] = []
        for (level, type) in config.downBlockTypes.enumerated() {
            downBlocks.append(try DownBlock2D(
                weights.scoped("down_blocks.\(level)"), inChannels: level == 0 ? channels[0] : channels[level - 1],
                outChannels: channels[level], tembChannels: timeEmbedDim, layers: config.layersPerBlock,
                addDownsample: level < levels - 1, convAlgorithm: Self.convAlgorithm(forOutputSize: config.sampleSize >> level),
                groups: config.normNumGroups, eps: config.normEps,
                downsamplePadding: config.downsamplePadding,
                attention: attention(type, level: level)))
        }
        self.downBlocks = downBlocks
        midBlock = try UNetMidBlock2DCrossAttn(weights.scoped("mid_block"), channels: channels[levels - 1], tembChannels: timeEmbedDim,
                                               convAlgorithm: Self.convAlgorithm(forOutputSize: config.sampleSize >> (levels - 1)),
                                               crossAttention: Self.crossAttention(level: levels - 1, config: config),
                                               config: config)
        let reversed = Array(channels.reversed())
        var upBlocks: [UpBlock2D] = []
        for (i, type) in config.upBlockTypes.enumerated() {
            upBlocks.append(try UpBlock2D(
                weights.scoped("up_blocks.\(i)"), inChannels: reversed[min(i + 1, levels - 1)],
                prevOutputChannels: i == 0 ? reversed[0] : reversed[i - 1], outChannels: reversed[i], tembChannels: timeEmbedDim,
                layers: config.layersPerBlock + 1, addUpsample: i < levels - 1,
                convAlgorithm: Self.convAlgorithm(forOutputSize: config.sampleSize >> (levels - 1 - i)),
                upsamplerAlgorithm: Self.convAlgorithm(forOutputSize: config.sampleSize >> (levels - 2 - i)),
                groups: config.normNumGroups, eps: config.normEps,
                attention: attention(type, level: levels - 1 - i)))
        }
        self.upBlocks = upBlocks
        convNormOut = GroupNorm(groups: config.normNumGroups, weight: try weights.tensor("conv_norm_out.weight", shape: [channels[0]]),
                                bias: try weights.tensor("conv_norm_out.bias", shape: [channels[0]]), eps: config.normEps)
        convOut = try weights.conv2d("conv_out", in: channels[0], out: config.outChannels, kernel: 3, padding: .all(1))
    }

    /// ε_θ(x_t, t, c) with one timestep (and timestep condition) for the whole batch.
    public func callAsFunction(_ sample: Tensor, timestep: Float, encoderHiddenStates: Tensor, timestepCond: Tensor? = nil,
                               in arena: ScratchArena) -> Tensor {
        self(sample, timesteps: [Float](repeating: timestep, count: sample.shape[0]),
             encoderHiddenStates: encoderHiddenStates, timestepCond: timestepCond, in: arena)
    }

    /// ε_θ(x_t, t, c).
    /// - Parameters:
    ///   - sample: the noisy latents x_t, `[B, 4, H/8, W/8]`; H/8 and W/8 multiples of 2^(levels-1).
    ///   - timesteps: t (0 … 999) for each sample of the batch.
    ///   - encoderHiddenStates: the text encoder's `last_hidden_state`, `[B, 77, crossAttentionDim]`.
    ///   - timestepCond: diffusers' `timestep_cond`, `[1 or B, timeCondProjDim]` (an LCM UNet's
    ///     ``guidanceScaleEmbedding(_:embeddingDim:)``), added to the time embedding's input; nil adds nothing.
    /// - Returns: the predicted noise, shaped like `sample`, in `arena`.
    public func callAsFunction(_ sample: Tensor, timesteps: [Float], encoderHiddenStates: Tensor, timestepCond: Tensor? = nil,
                               in arena: ScratchArena) -> Tensor {
        precondition(timesteps.count == sample.shape[0] && encoderHiddenStates.shape[0] == sample.shape[0],
                     "UNet2DConditionModel: one timestep and one text state per sample")
        precondition(timestepCond.map { cond in config.timeCondProjDim.map { [1, $0] == cond.shape || [sample.shape[0], $0] == cond.shape } ?? false } ?? true,
                     "UNet2DConditionModel: timestep_cond needs time_cond_proj_dim and one row (or one per sample) of its width")
        return arena.retaining {
            // time
            let tEmb = timestepEmbedding(timesteps, embeddingDim: config.blockOutChannels[0],
                                         flipSinToCos: config.flipSinToCos, downscaleFreqShift: config.freqShift)
            let emb = timeEmbedding(tEmb, condition: timestepCond, in: arena)  // [B, 4 · C0]
            // down
            var h = convIn(sample, in: arena)
            var skips = [h]
            for block in downBlocks {
                let (output, blockSkips) = block(h, temb: emb, encoderHiddenStates: encoderHiddenStates, in: arena)
                h = output
                skips += blockSkips
            }
            // mid
            h = midBlock(h, temb: emb, encoderHiddenStates: encoderHiddenStates, in: arena)
            // up: each block takes the last (layers + 1) skips
            for block in upBlocks {
                let count = block.resnets.count
                h = block(h, skips: Array(skips.suffix(count)), temb: emb, encoderHiddenStates: encoderHiddenStates, in: arena)
                skips.removeLast(count)
            }
            return convOut(convNormOut(h, silu: true, in: arena), in: arena)
        }
    }
}
