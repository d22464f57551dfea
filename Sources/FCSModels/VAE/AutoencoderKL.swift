// Port of diffusers.models.autoencoders.autoencoder_kl.AutoencoderKL: Encoder + quant_conv →
// DiagonalGaussianDistribution parameters; post_quant_conv + Decoder.
import FCSTensor

/// SD 1.x's VAE: images (NCHW, [-1, 1]) to latent posteriors and latents back to images.
public struct AutoencoderKL: Sendable {
    public let config: AutoencoderKLConfig
    let encoder: VAEEncoder
    let decoder: VAEDecoder
    let quantConv: Conv2d?      // quant_conv
    let postQuantConv: Conv2d?  // post_quant_conv

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
    }

    /// The posterior `latent_dist` of `vae.encode(image)`: its mean and log-variance (clamped to
    /// [-30, 20] as `DiagonalGaussianDistribution` does), before the scaling factor.
    /// - Parameter image: `[B, 3, H, W]` in [-1, 1], H and W multiples of 2^(levels-1).
    public func encode(_ image: Tensor, in arena: ScratchArena) -> (mean: Tensor, logVariance: Tensor) {
        let (batch, latent) = (image.shape[0], config.latentChannels)
        var moments = encoder(image, in: arena)
        if let quantConv { moments = quantConv(moments, in: arena) }
        let (height, width) = (moments.shape[2], moments.shape[3])
        let mean = arena.tensor([batch, latent, height, width]), logVariance = arena.tensor([batch, latent, height, width])
        let plane = latent * height * width
        for b in 0..<batch {
            mean.data.advanced(by: b * plane).update(from: moments.data + b * 2 * plane, count: plane)
            let source = moments.data + b * 2 * plane + plane, destination = logVariance.data + b * plane
            for i in 0..<plane { destination[i] = min(max(source[i], -30), 20) }
        }
        return (mean, logVariance)
    }

    /// `vae.decode(latents).sample`: latents as the posterior has them — divide the UNet's latents
    /// by ``AutoencoderKLConfig/scalingFactor`` first, as diffusers' pipelines do.
    /// - Returns: `[B, 3, H, W]`, roughly in [-1, 1].
    public func decode(_ latents: Tensor, in arena: ScratchArena) -> Tensor {
        arena.retaining {
            decoder(postQuantConv.map { $0(latents, in: arena) } ?? latents, in: arena)
        }
    }
}
