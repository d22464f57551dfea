// A diffusion model as the tasks see it: a denoiser, the codec between pixels and its sample
// space, and for text-conditioned models the prompt encoder. Stable Diffusion is one (UNet on
// VAE latents, CLIP text); a pixel-space UNet2DModel with the identity codec is another.
import FCSModels
import FCSTensor
#if canImport(Glibc)
import Glibc
#endif

public struct DiffusionModel: Sendable {
    public let denoiser: any NoisePredictor
    /// The sample space; its codec is resident only while a task runs it (``LatentSpace``).
    public let codec: any LatentSpace
    /// Prompts → the denoiser's conditioning; nil for models without text conditioning.
    public let promptEncoder: (any PromptEncoder)?
    /// A cheaper codec into the same latent space (TAESD) for super-resolution's inner-loop VAE
    /// passes; nil = ``codec``. See ``transporting(with:source:)``.
    public let transportCodec: (any LatentCodec)?
    /// The diffusion process the denoiser was trained on, which the outer samplers follow.
    public let schedulerConfig: SchedulerConfig

    public init(denoiser: any NoisePredictor, codec: any LatentSpace, promptEncoder: (any PromptEncoder)? = nil,
                transportCodec: (any LatentCodec)? = nil, schedulerConfig: SchedulerConfig = SchedulerConfig()) {
        (self.denoiser, self.codec, self.promptEncoder) = (denoiser, codec, promptEncoder)
        self.transportCodec = transportCodec
        self.schedulerConfig = schedulerConfig
    }

    /// A pixel-space denoiser (no text, identity codec). Images larger than the model's
    /// `sample_size` are denoised in overlapping tiles of that size (``TiledNoisePredictor``).
    public init(pixelSpace unet: UNet2DModel, schedulerConfig: SchedulerConfig = SchedulerConfig()) {
        let tile = unet.config.sampleSize
        self.init(denoiser: TiledNoisePredictor(unet, tile: tile, overlap: tile / 4), codec: IdentityCodec(), schedulerConfig: schedulerConfig)
    }

    /// The constrained sampler over this model's denoiser with the outer step `parameters` ask for.
    func sampler(_ parameters: SamplerParameters, projection: (any Projection)? = nil) throws(FCSError) -> ConstrainedSampler {
        ConstrainedSampler(unet: denoiser, scheduler: try parameters.outerSampler.scheduler(schedulerConfig), projection: projection)
    }

    /// Loads a pixel-space model (a diffusers folder whose `unet/config.json` is a UNet2DModel)
    /// or a Stable Diffusion model (``StableDiffusion/load(_:options:)``: folder, single file or
    /// hub-cache name).
    public static func load(_ reference: String, options: StableDiffusion.LoadOptions = .init()) throws(FCSError) -> DiffusionModel {
        if reference == DemoModel.name, access(reference, F_OK) != 0 {
            return DiffusionModel(pixelSpace: try DemoModel.unet(precision: options.layerPrecision, loras: options.loras))
        }
        if let (unet, config) = try StableDiffusion.loadPixelSpaceUNet(reference, options: options) {
            return DiffusionModel(pixelSpace: unet, schedulerConfig: config)
        }
        return try StableDiffusion.load(reference, options: options).diffusionModel
    }

    /// Image sides the networks accept are multiples of this: the codec's factor times the
    /// denoiser's total downsampling (64 for SD 1.x).
    public var pixelMultiple: Int { codec.downsamplingFactor << denoiser.downsamplings }

    /// An upper estimate of the memory, beyond the loaded weights, that sampling a `width` ×
    /// `height` image takes: the denoiser's forward (a batch of 2 with guidance), the codec, the
    /// sampler's latent-sized vectors and the task's image-sized copies.
    /// - Throws: what building the codec throws, when no task holds it now (SD's VAE: the
    ///   estimate follows its built layers).
    public func estimatedWorkingSetBytes(height: Int, width: Int, guided: Bool) throws(FCSError) -> Int {
        let factor = codec.downsamplingFactor, (h, w) = (height / factor, width / factor)
        let forward = denoiser.estimatedWorkingSetBytes(height: h, width: w, batch: guided ? 2 : 1)
        let samplerVectors = 16 * 4 * codec.latentChannels * h * w, imageCopies = 12 * 4 * 3 * height * width
        return forward + (try codec.estimatedWorkingSetBytes(height: height, width: width)) + samplerVectors + imageCopies
    }

    /// Refuses to sample a `width` × `height` canvas that is over ``RequestLimits/maxSampledPixels``
    /// or would not fit in the memory available.
    func checkRequest(width: Int, height: Int, guided: Bool, task: String) throws(FCSError) {
        try RequestLimits.checkSampled(width: width, height: height, task: task)
        try RequestLimits.checkMemory(try estimatedWorkingSetBytes(height: height, width: width, guided: guided), task: "\(task) at \(width)×\(height)")
    }

    /// The conditioning of `prompt` (and of "" when guidance is on); nil for models without
    /// text conditioning, which accept only the empty prompt and no guidance.
    func conditioning(prompt: String, guided: Bool, in arena: ScratchArena) throws(FCSError) -> (Conditioning?, unconditional: Conditioning?) {
        guard let promptEncoder else {
            guard prompt.isEmpty, !guided else {
                throw .invalidArgument("this model has no text conditioning: prompt and guidance are not available")
            }
            return (nil, nil)
        }
        let encoded = try promptEncoder.encode([prompt] + (guided ? [""] : []), in: arena)
        return (encoded[0], guided ? encoded[1] : nil)
    }

    /// D(x̂0 / s) clamped to [-1, 1]; `shouldContinue` is asked before each piece of the decoder's work.
    func decodeClamped(_ x0: Tensor, in arena: ScratchArena, shouldContinue: () -> Bool = { true }) throws(FCSError) -> [Float] {
        let scaled = Tensor(shape: x0.shape, values: x0.toArray().map { $0 / codec.scalingFactor })
        return try codec.withCodec { (codec) throws(FCSError) in
            try codec.decode(scaled, in: arena, shouldContinue: shouldContinue).toArray().map { min(1, max(-1, $0)) }
        }
    }

    /// Runs `body` with the codec of super-resolution's inner loop resident: ``transportCodec``,
    /// or the model's own codec, held until `body` returns.
    func withTransportCodec<Result>(_ body: (any LatentCodec) throws(FCSError) -> Result) throws(FCSError) -> Result {
        if let transportCodec { return try body(transportCodec) }
        return try codec.withCodec(body)
    }
}

extension StableDiffusion {
    /// The model as the sampling tasks use it.
    public var diffusionModel: DiffusionModel {
        DiffusionModel(denoiser: unet, codec: vae, promptEncoder: CLIPPromptEncoder(tokenizer: tokenizer, textEncoder: textEncoder),
                       schedulerConfig: schedulerConfig)
    }

    public var pixelMultiple: Int { diffusionModel.pixelMultiple }

    /// See ``DiffusionModel/inpaint(image:fillMask:parameters:noise:progress:)``.
    public func inpaint(image: Tensor, fillMask: Tensor, parameters: InpaintingParameters = InpaintingParameters(),
                        noise: SamplerNoise? = nil, progress: (Int, Int) -> Bool = { _, _ in true }) throws(FCSError) -> Tensor {
        try diffusionModel.inpaint(image: image, fillMask: fillMask, parameters: parameters, noise: noise, progress: progress)
    }

    /// See ``DiffusionModel/superResolve(image:factor:parameters:noise:progress:)``.
    public func superResolve(image: Tensor, factor: Int, parameters: SuperResolutionParameters = SuperResolutionParameters(),
                             noise: SamplerNoise? = nil, progress: (Int, Int) -> Bool = { _, _ in true }) throws(FCSError) -> Tensor {
        try diffusionModel.superResolve(image: image, factor: factor, parameters: parameters, noise: noise, progress: progress)
    }

    /// See ``DiffusionModel/extractLayers(image:hint:parameters:progress:)``.
    public func extractLayers(image: Tensor, hint: Tensor? = nil, parameters: LayerExtractionParameters = LayerExtractionParameters(),
                              progress: (Int, Int) -> Bool = { _, _ in true }) throws(FCSError) -> ExtractedLayers {
        try diffusionModel.extractLayers(image: image, hint: hint, parameters: parameters, progress: progress)
    }
}
