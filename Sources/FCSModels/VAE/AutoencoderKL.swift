// Port of diffusers.models.autoencoders.autoencoder_kl.AutoencoderKL: Encoder + quant_conv →
// DiagonalGaussianDistribution parameters; post_quant_conv + Decoder; tiled_encode /
// tiled_decode for large images (AutoencoderKLTiling.swift).
import FCSTensor

/// SD 1.x's VAE: images (NCHW, [-1, 1]) to latent posteriors and latents back to images.
///
/// Images larger than one tile (more than ``tileSampleMinSize``² pixels, or latents of more than
/// ``tileLatentMinSize``²) are encoded and decoded tile by tile, so memory stays bounded by a
/// tile whatever the image size; see ``encode(_:in:)`` for how that changes the result.
public struct AutoencoderKL: Sendable {
    public let config: AutoencoderKLConfig
    let encoder: VAEEncoder
    let decoder: VAEDecoder
    let quantConv: Conv2d?      // quant_conv
    let postQuantConv: Conv2d?  // post_quant_conv

    /// diffusers' `tile_latent_min_size`: the side of a decoder tile in latents (the config's
    /// `sample_size` / 2^(levels-1): 64 for SD 1.5). Larger latents are decoded in tiles.
    public var tileLatentMinSize: Int
    /// diffusers' `tile_overlap_factor`: the fraction of a tile that overlaps its neighbour and is
    /// blended with it (clamped to [0, 1) in use).
    public var tileOverlapFactor: Float = 0.25

    /// - Parameter weights: a reader over `vae/diffusion_pytorch_model.safetensors` (diffusers names).
    public init(config: AutoencoderKLConfig, weights: WeightReader) throws(FCSError) {
        guard config.actFn == "silu", config.downBlockTypes.allSatisfy({ $0 == "DownEncoderBlock2D" }),
              config.upBlockTypes.allSatisfy({ $0 == "UpDecoderBlock2D" }),
              config.downBlockTypes.count == config.blockOutChannels.count, config.upBlockTypes.count == config.blockOutChannels.count else {
            throw .format("vae config: only SD 1.x-shaped VAEs are supported (silu, DownEncoderBlock2D / UpDecoderBlock2D)")
        }
        self.config = config
        encoder = try VAEEncoder(weights.scoped("encoder"), config: config)
        decoder = try VAEDecoder(weights.scoped("decoder"), config: config)
        let moments = 2 * config.latentChannels, latent = config.latentChannels
        quantConv = config.useQuantConv ? try weights.conv2d("quant_conv", in: moments, out: moments, kernel: 1, padding: .all(0)) : nil
        postQuantConv = config.usePostQuantConv ? try weights.conv2d("post_quant_conv", in: latent, out: latent, kernel: 1, padding: .all(0)) : nil
        tileLatentMinSize = max(1, config.sampleSize >> (config.blockOutChannels.count - 1))
    }

    /// The 3×3 convolutions' algorithm for outputs of `outputSize`² (nominal, from `sample_size`):
    /// Conv2d's speed-only choice, except implicit GEMM at the latent resolution. That level holds
    /// the widest layers (512 channels for SD) and the fewest multiply-adds: Winograd's 16/9 of
    /// their weights there was 64 MiB in 16 bits (`fcs bench memory`), for an estimated 3 % of a
    /// 512² decode and 5 % of an encode (`fcs bench ops`' 64² rows scaled to 512 channels). (16-bit
    /// Winograd layers now keep their 3×3 weights; left as measured, a choice for float32 weights.)
    static func convAlgorithm(forOutputSize outputSize: Int, config: AutoencoderKLConfig) -> Conv2d.Algorithm {
        outputSize <= config.sampleSize >> (config.blockOutChannels.count - 1) ? .implicitGEMM : .preferred(forOutputSize: outputSize)
    }

    /// Pixels per latent along each side: 2^(levels-1), 8 for SD.
    public var downscaleFactor: Int { 1 << (config.blockOutChannels.count - 1) }

    /// diffusers' `tile_sample_min_size`: the side of an encoder tile in pixels
    /// (``tileLatentMinSize`` · ``downscaleFactor``: 512 for SD 1.5).
    public var tileSampleMinSize: Int { tileLatentMinSize * downscaleFactor }

    /// The posterior `latent_dist` of `vae.encode(image)`: its mean and log-variance (clamped to
    /// [-30, 20] as `DiagonalGaussianDistribution` does), before the scaling factor.
    ///
    /// Images of at most ``tileSampleMinSize``² pixels are encoded whole, exactly as diffusers
    /// does. Larger ones are encoded in overlapping tiles blended with a linear ramp, as
    /// diffusers' `tiled_encode` lays them out; GroupNorm statistics and the mid-block attention
    /// then see one tile instead of the whole image, which changes the posterior everywhere, not
    /// only at seams. How much depends on the weights: the tiny untrained test VAE, whose output
    /// moves as much when a crop is encoded alone, is the worst case, with the tiled mean off by
    /// 0.27 on average and 1.9 at most for values within ±3.1 at twice its tile
    /// (`AutoencoderKLTilingTests`, tolerance 0.35 mean, 2.5 max).
    /// - Parameter image: `[B, 3, H, W]` in [-1, 1], H and W multiples of ``downscaleFactor``.
    public func encode(_ image: Tensor, in arena: ScratchArena) -> (mean: Tensor, logVariance: Tensor) {
        posterior(moments(image, in: arena, checkpoint: {}), in: arena)
    }

    /// ``encode(_:in:)`` that checks the input, reserves its working set in `arena` first, and
    /// calls `shouldContinue` before each tile (or the one whole pass).
    /// - Throws: `.invalidArgument` for an input of the wrong shape, `.outOfMemory` when the
    ///   system refuses the working set, `.cancelled` when `shouldContinue` returns false.
    public func encode(_ image: Tensor, in arena: ScratchArena,
                       shouldContinue: () -> Bool) throws(FCSError) -> (mean: Tensor, logVariance: Tensor) {
        guard image.rank == 4, image.shape[1] == config.inChannels, image.shape.allSatisfy({ $0 > 0 }), image.isContiguous,
              image.shape[2] % downscaleFactor == 0, image.shape[3] % downscaleFactor == 0 else {
            throw .invalidArgument("VAE encode: expected a contiguous [B, \(config.inChannels), H, W] image with H and W "
                                   + "multiples of \(downscaleFactor), got \(image.shape)")
        }
        try arena.reserve(floats: estimatedWorkingSetBytes(.encode, height: image.shape[2], width: image.shape[3],
                                                          batch: image.shape[0]) / MemoryLayout<Float>.stride)
        let moments = try moments(image, in: arena) { () throws(FCSError) in
            if !shouldContinue() { throw FCSError(.cancelled, "VAE encode cancelled") }
        }
        return posterior(moments, in: arena)
    }

    /// `vae.decode(latents).sample`: latents as the posterior has them — divide the UNet's latents
    /// by ``AutoencoderKLConfig/scalingFactor`` first, as diffusers' pipelines do.
    ///
    /// Latents of at most ``tileLatentMinSize``² are decoded whole, exactly as diffusers does;
    /// larger ones in overlapping tiles blended as diffusers' `tiled_decode` does, which changes
    /// the image everywhere (GroupNorm and attention see one tile): on the tiny untrained test
    /// VAE, the worst case, by 0.33 on average and 3.6 at most for values within ±3.7 at twice
    /// its tile (`AutoencoderKLTilingTests`, tolerance 0.45 mean, 4.5 max).
    /// - Returns: `[B, 3, H, W]`, roughly in [-1, 1].
    public func decode(_ latents: Tensor, in arena: ScratchArena) -> Tensor {
        sample(latents, in: arena, checkpoint: {})
    }

    /// ``decode(_:in:)`` that checks the input, reserves its working set in `arena` first, and
    /// calls `shouldContinue` before each tile (or the one whole pass).
    /// - Throws: `.invalidArgument` for latents of the wrong shape, `.outOfMemory` when the
    ///   system refuses the working set, `.cancelled` when `shouldContinue` returns false.
    public func decode(_ latents: Tensor, in arena: ScratchArena, shouldContinue: () -> Bool) throws(FCSError) -> Tensor {
        guard latents.rank == 4, latents.shape[1] == config.latentChannels, latents.shape.allSatisfy({ $0 > 0 }),
              latents.isContiguous else {
            throw .invalidArgument("VAE decode: expected contiguous [B, \(config.latentChannels), h, w] latents, got \(latents.shape)")
        }
        try arena.reserve(floats: estimatedWorkingSetBytes(.decode, height: latents.shape[2] * downscaleFactor,
                                                          width: latents.shape[3] * downscaleFactor,
                                                          batch: latents.shape[0]) / MemoryLayout<Float>.stride)
        return try sample(latents, in: arena) { () throws(FCSError) in
            if !shouldContinue() { throw FCSError(.cancelled, "VAE decode cancelled") }
        }
    }

    /// `DiagonalGaussianDistribution(moments)`: the first half of the channels is the mean, the
    /// second the log-variance, clamped to [-30, 20].
    private func posterior(_ moments: Tensor, in arena: ScratchArena) -> (mean: Tensor, logVariance: Tensor) {
        let (batch, latent, height, width) = (moments.shape[0], config.latentChannels, moments.shape[2], moments.shape[3])
        let mean = arena.tensor([batch, latent, height, width]), logVariance = arena.tensor([batch, latent, height, width])
        let plane = latent * height * width
        for b in 0..<batch {
            mean.data.advanced(by: b * plane).update(from: moments.data + b * 2 * plane, count: plane)
            let source = moments.data + b * 2 * plane + plane, destination = logVariance.data + b * plane
            for i in 0..<plane { destination[i] = min(max(source[i], -30), 20) }
        }
        return (mean, logVariance)
    }
}
