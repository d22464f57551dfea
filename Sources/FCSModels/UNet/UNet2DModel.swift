// Port of diffusers.models.unets.unet_2d.UNet2DModel (positional time embedding, conv
// up/downsampling, no class embedding): conv_in, time_proj + time_embedding, DownBlock2D /
// AttnDownBlock2D, UNetMidBlock2D, UpBlock2D / AttnUpBlock2D fed by the skip connections,
// conv_norm_out + SiLU, conv_out. A pixel-space ε-predictor with no text conditioning, such as
// fcs's demo model.
import FCSTensor

public struct UNet2DModel: Sendable {
    public let config: UNet2DModelConfig
    /// The precision its layers compute in (all share the one they were loaded with).
    public var precision: WeightPrecision { convIn.precision }
    let convIn: Conv2d                     // conv_in
    let timeEmbedding: TimestepEmbedding   // time_embedding
    let downBlocks: [DownBlock2D]          // down_blocks.N
    let midBlock: UNetMidBlock2D?          // mid_block
    let upBlocks: [UpBlock2D]              // up_blocks.N
    let convNormOut: GroupNorm             // conv_norm_out (+ conv_act SiLU)
    let convOut: Conv2d                    // conv_out

    /// - Parameter weights: a reader over `diffusion_pytorch_model.safetensors` (diffusers names).
    /// - Throws: `.format` for a config value fcs refuses or does not implement (see
    ///   ``ConfigLimits``), a missing or mis-shaped tensor.
    public init(config: UNet2DModelConfig, weights: WeightReader) throws(FCSError) {
        try config.validate(source: "UNet2DModel config")
        self.config = config
        let channels = config.blockOutChannels, levels = channels.count
        let timeEmbedDim = channels[0] * 4, groups = config.normNumGroups, eps = config.normEps
        convIn = try weights.conv2d("conv_in", in: config.inChannels, out: channels[0], kernel: 3, padding: .all(1))
        timeEmbedding = try TimestepEmbedding(weights.scoped("time_embedding"), inChannels: channels[0], timeEmbedDim: timeEmbedDim)

        // validate() admits only Attn*Block2D and plain *Block2D
        func attention(_ type: String, channels: Int) -> BlockAttention.Factory? {
            type.hasPrefix("Attn") ? BlockAttention.spatial(headDim: config.attentionHeadDim ?? channels, groups: groups, eps: eps) : nil
        }
        var downBlocks: [DownBlock2D] = []
        for (level, type) in config.downBlockTypes.enumerated() {
            downBlocks.append(try DownBlock2D(
                weights.scoped("down_blocks.\(level)"), inChannels: level == 0 ? channels[0] : channels[level - 1],
                outChannels: channels[level], tembChannels: timeEmbedDim, layers: config.layersPerBlock,
                addDownsample: level < levels - 1, convAlgorithm: .preferred(forOutputSize: config.sampleSize >> level), groups: groups, eps: eps,
                downsamplePadding: config.downsamplePadding,
                attention: attention(type, channels: channels[level])))
        }
        self.downBlocks = downBlocks
        midBlock = config.midBlockType == nil ? nil : try UNetMidBlock2D(
            weights.scoped("mid_block"), channels: channels[levels - 1], groups: groups, addAttention: config.addAttention,
            convAlgorithm: .preferred(forOutputSize: config.sampleSize >> (levels - 1)), tembChannels: timeEmbedDim, eps: eps,
            attentionHeadDim: config.attentionHeadDim ?? channels[levels - 1], attentionGroups: config.attnNormNumGroups)
        let reversed = Array(channels.reversed())
        var upBlocks: [UpBlock2D] = []
        for (i, type) in config.upBlockTypes.enumerated() {
            upBlocks.append(try UpBlock2D(
                weights.scoped("up_blocks.\(i)"), inChannels: reversed[min(i + 1, levels - 1)],
                prevOutputChannels: i == 0 ? reversed[0] : reversed[i - 1], outChannels: reversed[i], tembChannels: timeEmbedDim,
                layers: config.layersPerBlock + 1, addUpsample: i < levels - 1,
                convAlgorithm: .preferred(forOutputSize: config.sampleSize >> (levels - 1 - i)),
                groups: groups, eps: eps,
                attention: attention(type, channels: reversed[i])))
        }
        self.upBlocks = upBlocks
        convNormOut = GroupNorm(groups: groups, weight: try weights.tensor("conv_norm_out.weight", shape: [channels[0]]),
                                bias: try weights.tensor("conv_norm_out.bias", shape: [channels[0]]), eps: eps)
        convOut = try weights.conv2d("conv_out", in: channels[0], out: config.outChannels, kernel: 3, padding: .all(1))
    }

    /// ε_θ(x_t, t).
    /// - Parameters:
    ///   - sample: the noisy image x_t, `[B, inChannels, H, W]`; H and W multiples of 2^(levels-1).
    ///   - timesteps: t (0 … 999) for each sample of the batch.
    /// - Returns: the predicted noise, shaped like `sample`, in `arena`.
    public func callAsFunction(_ sample: Tensor, timesteps: [Float], in arena: ScratchArena) -> Tensor {
        precondition(timesteps.count == sample.shape[0], "UNet2DModel: one timestep per sample")
        return arena.retaining {
            let input = config.centerInputSample
                ? add(multiply(sample, Tensor(shape: [1], values: [2]), in: arena), Tensor(shape: [1], values: [-1]), in: arena)
                : sample
            let tEmb = timestepEmbedding(timesteps, embeddingDim: config.blockOutChannels[0],
                                         flipSinToCos: config.flipSinToCos, downscaleFreqShift: config.freqShift)
            let emb = timeEmbedding(tEmb, in: arena)
            var h = convIn(input, in: arena)
            var skips = [h]
            for block in downBlocks {
                let (output, blockSkips) = block(h, temb: emb, encoderHiddenStates: nil, in: arena)
                h = output
                skips += blockSkips
            }
            if let midBlock { h = midBlock(h, temb: emb, in: arena) }
            for block in upBlocks {
                let count = block.resnets.count
                h = block(h, skips: Array(skips.suffix(count)), temb: emb, encoderHiddenStates: nil, in: arena)
                skips.removeLast(count)
            }
            return convOut(convNormOut(h, silu: true, in: arena), in: arena)
        }
    }
}
