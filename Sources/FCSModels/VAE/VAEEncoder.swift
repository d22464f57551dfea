// Port of diffusers.models.autoencoders.vae.Encoder (double_z): conv_in, DownEncoderBlock2Ds,
// UNetMidBlock2D, GroupNorm + SiLU, conv_out to 2 × latent channels (mean and log-variance).
import FCSTensor

/// diffusers' `Encoder`, renamed: Swift's Codable protocols own `Encoder`.
struct VAEEncoder: Sendable {
    let convIn: Conv2d                  // conv_in
    let downBlocks: [DownEncoderBlock2D] // down_blocks.N
    let midBlock: UNetMidBlock2D        // mid_block
    let convNormOut: GroupNorm          // conv_norm_out (+ conv_act SiLU)
    let convOut: Conv2d                 // conv_out

    /// - Throws: `.format` for a config value fcs refuses (the encoder is built first, so this
    ///   is where AutoencoderKL's config is validated), a missing or mis-shaped tensor.
    init(_ weights: WeightReader, config: AutoencoderKLConfig) throws(FCSError) {
        try config.validate(source: "AutoencoderKL config")
        let channels = config.blockOutChannels, levels = channels.count
        convIn = try weights.conv2d("conv_in", in: config.inChannels, out: channels[0], kernel: 3, padding: .all(1),
                                    algorithm: AutoencoderKL.convAlgorithm(forOutputSize: config.sampleSize, config: config))
        var blocks: [DownEncoderBlock2D] = []
        for level in 0..<levels {
            blocks.append(try DownEncoderBlock2D(weights.scoped("down_blocks.\(level)"), inChannels: level == 0 ? channels[0] : channels[level - 1],
                                                 outChannels: channels[level], layers: config.layersPerBlock, groups: config.normNumGroups,
                                                 addDownsample: level < levels - 1,
                                                 convAlgorithm: AutoencoderKL.convAlgorithm(forOutputSize: config.sampleSize >> level, config: config)))
        }
        downBlocks = blocks
        midBlock = try UNetMidBlock2D(weights.scoped("mid_block"), channels: channels[levels - 1], groups: config.normNumGroups,
                                      addAttention: config.midBlockAddAttention,
                                      convAlgorithm: AutoencoderKL.convAlgorithm(forOutputSize: config.sampleSize >> (levels - 1), config: config))
        convNormOut = GroupNorm(groups: config.normNumGroups, weight: try weights.tensor("conv_norm_out.weight", shape: [channels[levels - 1]]),
                                bias: try weights.tensor("conv_norm_out.bias", shape: [channels[levels - 1]]), eps: 1e-6)
        convOut = try weights.conv2d("conv_out", in: channels[levels - 1], out: 2 * config.latentChannels, kernel: 3, padding: .all(1),
                                     algorithm: AutoencoderKL.convAlgorithm(forOutputSize: config.sampleSize >> (levels - 1), config: config))
    }

    /// - Parameter sample: `[B, 3, H, W]` in [-1, 1]. - Returns: `[B, 2·latent, H/2^(levels-1), …]`.
    func callAsFunction(_ sample: Tensor, in arena: ScratchArena) -> Tensor {
        arena.retaining {
            // each layer's result replaces its input at `start`: one activation is live between layers
            let start = arena.mark()
            var h = convIn(sample, in: arena)
            for block in downBlocks { h = block(h, resultAt: start, in: arena) }
            h = arena.retaining(from: start) { midBlock(h, in: arena) }
            return convOut(convNormOut(h, silu: true, in: arena), in: arena)
        }
    }
}
