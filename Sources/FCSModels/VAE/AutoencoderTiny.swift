// Port of diffusers.models.autoencoders.autoencoder_tiny.AutoencoderTiny (madebyollin's TAESD):
// EncoderTiny and DecoderTiny, no posterior, no quant convolutions.
import FCSTensor
#if canImport(Glibc)
import Glibc
#endif

/// A tiny distilled autoencoder (TAESD: about 1.2 M parameters per half, against 34 M + 49 M for
/// SD's VAE), between images (NCHW, [-1, 1]) and the latents of a diffusion model.
///
/// Latent convention: TAESD's encoder outputs latents **already in the diffusion model's
/// scaled space** — for SD 1.x about `0.18215 ·` the SD VAE's posterior mean — and its decoder
/// takes them as the UNet has them. diffusers states this with `scaling_factor = 1.0` (its
/// pipelines multiply and divide by it as for any VAE); `latent_magnitude` and `latent_shift`
/// serve only its uint8 helpers `scale_latents` / `unscale_latents` and `forward()`'s round
/// trip through bytes, never ``encode(_:in:)`` or ``decode(_:in:)``.
public struct AutoencoderTiny: Sendable {
    public let config: AutoencoderTinyConfig
    let encoder: EncoderTiny
    let decoder: DecoderTiny

    /// - Parameter weights: a reader over `diffusion_pytorch_model.safetensors` (diffusers names).
    /// - Throws: `.format` for a config value fcs refuses, or a missing or mis-shaped tensor.
    public init(config: AutoencoderTinyConfig, weights: WeightReader) throws(FCSError) {
        try config.validate(source: "AutoencoderTiny config")
        self.config = config
        encoder = try EncoderTiny(weights.scoped("encoder"), config: config)
        decoder = try DecoderTiny(weights.scoped("decoder"), config: config)
    }

    /// The compute precision TAESD runs in for the setting `compute`: the setting itself, except
    /// that automatic is float32 even where bf16 is fast. TAESD's 64-channel layers are bound by the
    /// Winograd transforms, so bf16's F(2×2) is slower than float32's F(4×4) (`fcs bench models
    /// --weights bf16` / `fp32` at 512²: encode 0.40 against 0.36 s, decode 0.47 against 0.40 s),
    /// and 16-bit weights would save 2 MB.
    public static func computePrecision(_ compute: ComputePrecision) -> ComputePrecision {
        compute == .automatic ? .float32 : compute
    }

    /// Loads a diffusers `AutoencoderTiny` folder (the `madebyollin/taesd` layout: `config.json`
    /// and `diffusion_pytorch_model.safetensors` in float16 or float32, or the `.fp16` variant),
    /// or such a model already in the Hugging Face hub cache by name, with the weights and
    /// compute settings of ``StableDiffusion/LoadOptions`` (`precision`, `compute`, as
    /// ``computePrecision(_:)`` resolves it).
    /// - Throws: `.io` when the folder or weights are missing, `.format` naming the file and
    ///   field or tensor for a bad config, a tensor that does not fit it or one left over.
    public static func load(_ reference: String, variant: StableDiffusion.Variant = .automatic,
                            precision: WeightPrecision = .float32, compute: ComputePrecision = .automatic) throws(FCSError) -> AutoencoderTiny {
        let folder = try folder(reference)
        let config: AutoencoderTinyConfig = try decodeConfig(folder + "/config.json")
        var options = StableDiffusion.LoadOptions(compute: computePrecision(compute))
        (options.variant, options.precision) = (variant, precision)
        // the folder is laid out as one component of a pipeline folder
        let slash = folder.lastIndex(of: "/")
        let (parent, name) = slash.map { (String(folder[..<$0]), String(folder[folder.index(after: $0)...])) } ?? (".", folder)
        let weights = try StableDiffusion.componentWeights(parent, name, base: "diffusion_pytorch_model", options: options)
        let model = try AutoencoderTiny(config: config, weights: weights)
        try StableDiffusion.rejectLeftovers(weights, folder)
        return model
    }

    /// `vae.encode(image).latents`.
    /// - Parameter image: `[B, in, H, W]` in [-1, 1], contiguous.
    /// - Returns: `[B, latent, ⌈H/f⌉, ⌈W/f⌉]` (f = ``AutoencoderTinyConfig/encoderDownsamplingFactor``), scaled latents.
    public func encode(_ image: Tensor, in arena: ScratchArena) -> Tensor { encoder(image, in: arena) }

    /// `vae.decode(latents).sample`.
    /// - Parameter latents: `[B, latent, h, w]`, contiguous, as the UNet has them.
    /// - Returns: `[B, out, h·f, w·f]` (f = ``AutoencoderTinyConfig/decoderUpsamplingFactor``), roughly in [-1, 1].
    public func decode(_ latents: Tensor, in arena: ScratchArena) -> Tensor { decoder(latents, in: arena) }

    /// The folder `reference` names: itself, or its snapshot in the hub cache.
    private static func folder(_ reference: String) throws(FCSError) -> String {
        if fileKind(reference) == .directory {
            guard fileKind(reference + "/config.json") == .file else { throw .io("\(reference): not a diffusers model folder (no config.json)") }
            var folder = reference
            while folder.count > 1, folder.hasSuffix("/") { folder.removeLast() }
            return folder
        }
        let parts = reference.split(separator: "/", omittingEmptySubsequences: false)
        let cache = ModelLocation.hubCache { getenv($0).map { String(cString: $0) } }
        guard parts.count == 2, !parts.contains(where: \.isEmpty), !reference.hasPrefix("."),
              let snapshot = ModelLocation.snapshot(of: "\(cache)/models--\(parts[0])--\(parts[1])") else {
            throw .io("\(reference): no such folder, nor a model in the Hugging Face cache (\(cache))")
        }
        return try folder(snapshot)
    }
}
