// Super-resolution ×2/×4/×8 end to end (spec §3.3–3.4, §5): sample under the VAE-Newton
// constraint, decode the last x̂0. The constraint's decoder and encoder passes (one and two per
// inner step) may run on a tiny autoencoder instead of the model's VAE; the final decode is
// always the VAE's.
import FCSImaging
import FCSModels
import FCSTensor

/// Super-resolution is a pixel task: its parameters are theirs.
public typealias SuperResolutionParameters = PixelTaskParameters

extension DiffusionModel {
    /// Upscales `image` by `factor`. With a ``transportCodec`` the inner loop's VAE passes run on
    /// it and only the final decode on ``codec``.
    /// - Parameters:
    ///   - image: `[1, 3, h, w]` in [-1, 1], any size; it is reflect-padded so that the output's
    ///     sides are multiples of ``pixelMultiple``, and the output cropped back.
    ///   - factor: 2, 4 or 8.
    ///   - noise: the sampler's noise (for the padded output size); nil draws it from `parameters.seed`.
    /// - Returns: `[1, 3, h·factor, w·factor]` in [-1, 1].
    public func superResolve(image: Tensor, factor: Int, parameters: SuperResolutionParameters = SuperResolutionParameters(),
                             noise: SamplerNoise? = nil, progress: (Int, Int) -> Bool = { _, _ in true }) throws(FCSError) -> Tensor {
        if [2, 4, 8].contains(factor), image.rank == 4, pixelMultiple % factor == 0 {
            let padding = ImagePadding(height: image.shape[2], width: image.shape[3], multiple: pixelMultiple / factor)
            if padding.isNeeded {
                return padding.crop(try superResolve(image: padding.pad(image), factor: factor, parameters: parameters,
                                                     noise: noise, progress: progress), scale: factor)
            }
        }
        return try withTransportCodec { (codec) throws(FCSError) in
            let constraint = try SuperResolutionConstraint(lowResolution: image, factor: factor, codec: codec,
                                                           finiteDifferenceStep: parameters.encoderFiniteDifferenceStep)
            return try sample(constraint, imageShape: [1, 3, image.shape[2] * factor, image.shape[3] * factor], task: "super-resolution",
                              parameters: parameters, noise: noise, progress: progress)
        }
    }
}

extension DiffusionModel {
    /// This model with `transport` (a TAESD) doing super-resolution's inner-loop VAE passes —
    /// the decode of x̂0 and the two encodes of the transport, 3 passes per inner step, which
    /// with SD's VAE cost more than the step's two UNet forwards — while the final decode stays
    /// on the model's VAE. TAESD for SD 1.x (`madebyollin/taesd`) is distilled to SD's latent
    /// space, so its finite difference stands in for the VAE encoder's.
    ///
    /// How that changes the results is untested: no real TAESD or SD weights are available
    /// offline. fcs's tests show that the transport runs, changes the sample, keeps the VAE's
    /// final decode, and that on tiny random fixtures the inner loop matches the reference
    /// implementation run on TAESD; random models cannot show the residual falling (with their
    /// own VAE neither).
    /// - Parameter source: what messages call `transport` (its folder).
    /// - Throws: `.invalidArgument` when `transport` does not map RGB images to this model's
    ///   latents (channels, downsampling) or the model has no VAE (pixel space).
    public func transporting(with transport: AutoencoderTiny, source: String) throws(FCSError) -> DiffusionModel {
        guard !(codec is IdentityCodec) else {
            throw .invalidArgument("\(source): this is a pixel-space model; it has no VAE for a transport autoencoder to stand in for")
        }
        let config = transport.config
        guard config.inChannels == 3, config.outChannels == 3 else {
            throw .invalidArgument("\(source): in_channels and out_channels must be 3 (RGB) for a transport autoencoder, not \(config.inChannels) and \(config.outChannels)")
        }
        guard config.latentChannels == codec.latentChannels,
              config.encoderDownsamplingFactor == codec.downsamplingFactor, config.decoderUpsamplingFactor == codec.downsamplingFactor else {
            throw .invalidArgument("\(source): its latents (\(config.latentChannels) channels, encoder 1/\(config.encoderDownsamplingFactor), decoder ×\(config.decoderUpsamplingFactor)) are not the model's (\(codec.latentChannels) channels, 1/\(codec.downsamplingFactor))")
        }
        return DiffusionModel(denoiser: denoiser, codec: codec, promptEncoder: promptEncoder, transportCodec: transport,
                              schedulerConfig: schedulerConfig)
    }
}
