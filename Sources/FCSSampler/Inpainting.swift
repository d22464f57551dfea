// Inpainting end to end (spec §3.2): encode the prompt, constrain on the known pixels, sample,
// decode the last x̂0 and, by default, paste the known pixels back with a soft seam (ours: users
// expect untouched pixels to stay untouched; the paper's notebooks output D(x̂0) as is).
import CFCS
import FCSImaging
import FCSModels
import FCSTensor

public struct InpaintingParameters: Sendable {
    /// How the known pixels steer sampling.
    public enum Method: Sendable {
        /// The paper's inexact-Newton correction (fcs's method).
        case constrained
        /// The replacement baseline (``ReplacementProjection``), for comparisons; one forward per step.
        case replacement

        /// The method of a C fcs_inpaint_method value; nil for a value that is none.
        public init?(_ value: fcs_inpaint_method) {
            switch value {
            case FCS_INPAINT_CONSTRAINED: self = .constrained
            case FCS_INPAINT_REPLACEMENT: self = .replacement
            default: return nil
            }
        }

        /// The header's FCS_DEFAULT_METHOD (a valid value: FCSSamplerTests checks it).
        static let headerDefault = Method(fcs_inpaint_method(rawValue: UInt32(FCS_DEFAULT_METHOD)))!
    }

    public var sampler = SamplerParameters()
    public var method = Method.headerDefault
    /// The text prompt; "" (no caption) as in the paper.
    public var prompt = ""
    public var seed = UInt64(FCS_DEFAULT_SEED)
    /// Keep the known pixels exactly, blending into the generated ones over a seam.
    public var pasteBack = FCS_DEFAULT_PASTE_BACK != 0
    /// Width in pixels of the blend between generated and known pixels.
    public var seamWidth = Int(FCS_DEFAULT_SEAM_WIDTH)
    /// Images with a longer side than this are inpainted through a context window around the
    /// hole (0: never); such results always keep the known pixels outside the window and seam.
    public var contextCropAbove = Int(FCS_DEFAULT_CONTEXT_CROP_ABOVE)
    /// The side the context window is shrunk to, at most (SD 1.x's native 512).
    public var contextSize = Int(FCS_DEFAULT_CONTEXT_SIZE)

    public init() {}
}

extension DiffusionModel {
    /// Fills the masked pixels of `image`.
    /// - Parameters:
    ///   - image: `[1, 3, H, W]` in [-1, 1], any size; sides that are not multiples of
    ///     ``pixelMultiple`` are reflect-padded for sampling and cropped back, and images larger
    ///     than `parameters.contextCropAbove` are sampled through a context window (ContextCropInpainting.swift).
    ///   - fillMask: `[1, 1, H, W]`, non-zero = pixels to fill.
    ///   - noise: the sampler's noise (for the padded size); nil draws it from `parameters.seed`.
    /// - Returns: `[1, 3, H, W]` in [-1, 1]. An empty mask returns `image` unchanged.
    public func inpaint(image: Tensor, fillMask: Tensor, parameters: InpaintingParameters = InpaintingParameters(),
                        noise: SamplerNoise? = nil, progress: (Int, Int) -> Bool = { _, _ in true }) throws(FCSError) -> Tensor {
        if image.rank == 4, fillMask.rank == 4, image.shape[2...] == fillMask.shape[2...] {
            let (height, width) = (image.shape[2], image.shape[3])
            if parameters.contextCropAbove > 0, max(height, width) > parameters.contextCropAbove, parameters.contextSize >= 8,
               let crop = ContextCrop(fill: fillMask.toArray(), height: height, width: width, contextSize: parameters.contextSize) {
                return try inpaintThroughContextCrop(crop, image: image, fillMask: fillMask, parameters: parameters,
                                                     noise: noise, progress: progress)
            }
            let padding = ImagePadding(height: image.shape[2], width: image.shape[3], multiple: pixelMultiple)
            if padding.isNeeded {
                return padding.crop(try inpaint(image: padding.pad(image), fillMask: padding.pad(fillMask),
                                                parameters: parameters, noise: noise, progress: progress))
            }
        }
        let fill = fillMask.toArray(), steps = parameters.sampler.steps
        guard fill.contains(where: { $0 != 0 }) else { return Tensor(shape: image.shape, values: image.toArray()) }
        // the VAE is resident for the encode (and the estimate, which follows its layers) and again
        // for the decode, not through the sampling
        let constraint = try codec.withCodec { (codec) throws(FCSError) in
            try checkRequest(width: image.shape[3], height: image.shape[2], guided: parameters.sampler.usesClassifierFreeGuidance(denoiser),
                             task: "inpainting")
            return try InpaintingConstraint(image: image, fillMask: fillMask, codec: codec, shouldContinue: { progress(0, steps) })
        }
        let (conditioning, unconditional) = try conditioning(prompt: parameters.prompt, guided: parameters.sampler.usesClassifierFreeGuidance(denoiser),
                                                                in: ScratchArena())  // the text encoder's activations, released here
        let latentShape = constraint.knownLatent.shape
        let noise = noise ?? .seeded(parameters.seed, shape: latentShape, steps: parameters.sampler.steps)
        var sampler = parameters.sampler
        if parameters.method == .replacement { sampler.newtonSteps = 0 }  // the projection replaces the inner steps
        let x0 = try self.sampler(sampler, projection: parameters.method == .replacement ? ReplacementProjection(constraint) : nil)
            .sample(constraint: constraint, conditioning: conditioning, unconditional: unconditional, noise: noise,
                    parameters: sampler, progress: progress)
        var decoded = try decodeClamped(x0, in: ScratchArena(), shouldContinue: { progress(steps, steps) })
        if parameters.pasteBack {
            let alpha = seamAlpha(fill, height: image.shape[2], width: image.shape[3], radius: max(1, parameters.seamWidth / 2))
            let original = image.toArray(), plane = alpha.count
            for i in decoded.indices { decoded[i] = alpha[i % plane] * decoded[i] + (1 - alpha[i % plane]) * original[i] }
        }
        return Tensor(shape: image.shape, values: decoded)
    }
}
