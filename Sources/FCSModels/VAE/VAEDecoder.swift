// Port of diffusers.models.autoencoders.vae.Decoder: conv_in, UNetMidBlock2D, UpDecoderBlock2Ds
// (widest first), GroupNorm + SiLU, conv_out.
import FCSTensor

/// diffusers' `Decoder`, renamed: Swift's Codable protocols own `Decoder`.
struct VAEDecoder: Sendable {
    let convIn: Conv2d                 // conv_in
    let midBlock: UNetMidBlock2D       // mid_block
    let upBlocks: [UpDecoderBlock2D]   // up_blocks.N
    let convNormOut: GroupNorm         // conv_norm_out (+ conv_act SiLU)
    let convOut: Conv2d                // conv_out

    init(_ weights: WeightReader, config: AutoencoderKLConfig) throws(FCSError) {
        let reversed = Array(config.blockOutChannels.reversed()), levels = reversed.count
        let latentSize = config.sampleSize >> (levels - 1)
        convIn = try weights.conv2d("conv_in", in: config.latentChannels, out: reversed[0], kernel: 3, padding: .all(1),
                                    algorithm: AutoencoderKL.convAlgorithm(forOutputSize: latentSize, config: config))
        midBlock = try UNetMidBlock2D(weights.scoped("mid_block"), channels: reversed[0], groups: config.normNumGroups,
                                      addAttention: config.midBlockAddAttention,
                                      convAlgorithm: AutoencoderKL.convAlgorithm(forOutputSize: latentSize, config: config))
        var blocks: [UpDecoderBlock2D] = []
        for i in 0..<levels {
            blocks.append(try UpDecoderBlock2D(weights.scoped("up_blocks.\(i)"), inChannels: i == 0 ? reversed[0] : reversed[i - 1],
                                               outChannels: reversed[i], layers: config.layersPerBlock + 1, groups: config.normNumGroups,
                                               addUpsample: i < levels - 1,
                                               convAlgorithm: AutoencoderKL.convAlgorithm(forOutputSize: latentSize << i, config: config)))
        }
        upBlocks = blocks
        convNormOut = GroupNorm(groups: config.normNumGroups, weight: try weights.tensor("conv_norm_out.weight", shape: [reversed[levels - 1]]),
                                bias: try weights.tensor("conv_norm_out.bias", shape: [reversed[levels - 1]]), eps: 1e-6)
        convOut = try weights.conv2d("conv_out", in: reversed[levels - 1], out: config.outChannels, kernel: 3, padding: .all(1),
                                     algorithm: AutoencoderKL.convAlgorithm(forOutputSize: config.sampleSize, config: config))
    }

    /// - Parameter z: `[B, latent, h, w]` (after post_quant_conv). - Returns: `[B, 3, h·2^(levels-1), …]`.
    func callAsFunction(_ z: Tensor, in arena: ScratchArena) -> Tensor {
        arena.retaining {
            // each layer's result replaces its input at `start`: one activation is live between layers
            let start = arena.mark()
            var h = convIn(z, in: arena)
            h = arena.retaining(from: start) { midBlock(h, in: arena) }
            for block in upBlocks { h = block(h, resultAt: start, in: arena) }
            return convOut(convNormOut(h, silu: true, in: arena), in: arena)
        }
    }
}
