// Any pixel constraint end to end: carry it to latent space by the VAE-Newton transport, sample,
// decode the last x̂0. Super-resolution, deblurring and colourisation are this with their
// operators, and callers' own constraints (the C ABI's callback, Python's `constraint=`) run it
// as they are.
import CFCS
import FCSImaging
import FCSModels
import FCSTensor

/// The parameters of a task on pixels carried by ``VAENewtonTransport``.
public struct PixelTaskParameters: Sendable {
    /// K = 10 and λ = 0.5 (VAE-Newton, as ZoomLDM runs it for super-resolution); the paper's
    /// decoder-backprop SR used λ = 0.1 — set `sampler.learningRates = [0.1]` to compare.
    public var sampler: SamplerParameters = {
        var parameters = SamplerParameters()
        parameters.newtonSteps = Int(FCS_DEFAULT_SUPER_RESOLVE_NEWTON_STEPS)
        parameters.learningRates = [FCS_DEFAULT_SUPER_RESOLVE_LEARNING_RATE]
        return parameters
    }()
    public var prompt = ""
    public var seed = UInt64(FCS_DEFAULT_SEED)
    /// h of the finite difference through the VAE encoder.
    public var encoderFiniteDifferenceStep: Float = 0.005

    public init() {}

    /// The defaults for `model`. Pixel-space models (the identity codec) take λ = 0.05, ours:
    /// each inner step moves x_t by λ at its largest element, and a step of 0.5 in [-1, 1] pixels
    /// is far coarser than in SD's latents; on the demo model's held-out photos
    /// (tools/quality/ablations.md) λ = 0.05 gives ×4 results 5.8 dB closer to the original
    /// than 0.5 and fits the low-resolution input to 34 dB instead of 24 (0.02 does as well,
    /// 0.005 is too small to meet the constraint). Latent models keep 0.5.
    public init(for model: DiffusionModel) {
        self.init()
        if model.codec is IdentityCodec { sampler.learningRates = [FCS_DEFAULT_PIXEL_SUPER_RESOLVE_LEARNING_RATE] }
    }
}


extension DiffusionModel {
    /// Samples an image that satisfies `constraint`. With a ``transportCodec`` the inner loop's VAE
    /// passes run on it and only the final decode on ``codec``.
    /// - Parameters:
    ///   - constraint: on an image of any size; sides that are not multiples of ``pixelMultiple``
    ///     are sampled reflect-padded (the constraint sees the image cropped back, and its change
    ///     is mirrored into the padding) and the result cropped back.
    ///   - noise: the sampler's noise (for the padded size); nil draws it from `parameters.seed`.
    /// - Returns: `constraint.imageShape`, in [-1, 1].
    /// - Throws: what the constraint throws, besides the sampler's errors.
    public func solve(_ constraint: any PixelConstraint, parameters: PixelTaskParameters = PixelTaskParameters(),
                      noise: SamplerNoise? = nil, progress: (Int, Int) -> Bool = { _, _ in true }) throws(FCSError) -> Tensor {
        let shape = constraint.imageShape
        guard shape.count == 4, shape[0] == 1, shape[1] == 3, shape[2] > 0, shape[3] > 0 else {
            throw .invalidArgument("constraint: the image must be [1, 3, H, W], not \(shape)")
        }
        let padding = ImagePadding(height: shape[2], width: shape[3], multiple: pixelMultiple)
        if padding.isNeeded {
            return padding.crop(try solve(PaddedConstraint(constraint, padding: padding), parameters: parameters, noise: noise, progress: progress))
        }
        return try withTransportCodec { (codec) throws(FCSError) in
            let transport = try VAENewtonTransport(constraint, codec: codec, finiteDifferenceStep: parameters.encoderFiniteDifferenceStep)
            return try sample(transport, imageShape: shape, task: "constrained sampling", parameters: parameters, noise: noise, progress: progress)
        }
    }

    /// Samples under a constraint on an image of `imageShape` and decodes the last x̂0.
    func sample(_ constraint: any Constraint, imageShape: [Int], task: String, parameters: PixelTaskParameters,
                noise: SamplerNoise?, progress: (Int, Int) -> Bool) throws(FCSError) -> Tensor {
        let steps = parameters.sampler.steps, guided = parameters.sampler.usesClassifierFreeGuidance(denoiser)
        try checkRequest(width: imageShape[3], height: imageShape[2], guided: guided, task: task)
        try proceed(progress, step: 0, of: steps)
        let (conditioning, unconditional) = try conditioning(prompt: parameters.prompt, guided: guided,
                                                                in: ScratchArena())  // the text encoder's activations, released here
        let x0 = try sampler(parameters.sampler).sample(
            constraint: constraint, conditioning: conditioning, unconditional: unconditional,
            noise: noise ?? .seeded(parameters.seed, shape: constraint.latentShape, steps: steps),
            parameters: parameters.sampler, progress: progress)
        return Tensor(shape: imageShape, values: try decodeClamped(x0, in: ScratchArena(), shouldContinue: { progress(steps, steps) }))
    }
}

/// A constraint on an image, run on the image reflect-padded (``ImagePadding``): it sees the
/// padded estimate cropped back, and its change is mirrored into the padding like the image.
struct PaddedConstraint: PixelConstraint {
    let inner: any PixelConstraint
    let padding: ImagePadding

    init(_ inner: any PixelConstraint, padding: ImagePadding) {
        (self.inner, self.padding) = (inner, padding)
    }

    var imageShape: [Int] { [1, 3, padding.paddedHeight, padding.paddedWidth] }

    func pixelChange(decoded image: Tensor, in arena: ScratchArena) throws(FCSError) -> Tensor {
        padding.pad(try inner.pixelChange(decoded: padding.crop(image), in: arena))
    }
}
