// fcs_solve: any constraint — a blur, luminance, or the caller's callback — through the sampler's
// pixel-task path (DiffusionModel.solve).
import CFCS
import FCSImaging
import FCSModels
import FCSSampler
import FCSTensor

@c(fcs_constraint_default)
public func fcsConstraintDefault() -> fcs_constraint {
    fcs_constraint(kind: fcs_constraint_kind(rawValue: UInt32(FCS_DEFAULT_CONSTRAINT_KIND)), sigma: FCS_DEFAULT_SIGMA, kernel: nil, callback: nil, callback_user_data: nil, width: 0, height: 0)
}

@c(fcs_solve)
public func fcsSolve(_ model: OpaquePointer?, _ image: UnsafePointer<fcs_image>?, _ constraint: UnsafePointer<fcs_constraint>?,
                     _ params: UnsafePointer<fcs_sample_params>?, _ out: UnsafeMutablePointer<fcs_image>?) -> fcs_status {
    withStatus { () throws(FCSError) in
        let handle = try FCS.model(model), out = try outputSlot(out, name: "out")
        guard let description = constraint?.pointee else { throw .invalidArgument("constraint is NULL") }
        let kinds = [FCS_CONSTRAINT_GAUSSIAN_BLUR, FCS_CONSTRAINT_KERNEL_BLUR, FCS_CONSTRAINT_LUMINANCE, FCS_CONSTRAINT_CALLBACK]
        guard kinds.contains(description.kind) else {
            throw .invalidArgument("constraint.kind \(description.kind.rawValue) is not an fcs_constraint_kind (0 … \(kinds.count - 1))")
        }
        let input = image == nil && description.kind == FCS_CONSTRAINT_CALLBACK ? nil : try InputImage(image, name: "image")
        let (width, height) = try size(of: input, description)
        try RequestLimits.checkSampled(width: width, height: height, task: "constrained sampling")
        try checkImageMemory(pixels: width * height, task: "constrained sampling \(width)×\(height)")
        let params = params?.pointee ?? fcsSampleParamsDefault()
        let diffusion = handle.model
        var parameters = PixelTaskParameters(for: diffusion)
        let common = try CommonParameters(params, defaults: parameters.sampler)
        (parameters.sampler, parameters.prompt, parameters.seed) = (common.sampler, common.prompt, common.seed)
        log(FCS_LOG_INFO, "solve \(width)×\(height) (constraint \(description.kind.rawValue)), \(parameters.sampler.steps) steps, K = \(parameters.sampler.newtonSteps)")
        let pixels = try input?.pixels()
        let (rgb, alpha) = (pixels?.rgb, pixels?.alpha)
        let (noise, progress) = (try common.noise(), progressClosure(params))
        let result: Tensor
        switch (description.kind, rgb) {
        case (FCS_CONSTRAINT_CALLBACK, _):
            guard let callback = description.callback else { throw .invalidArgument("constraint.callback is NULL") }
            let user = ConstraintCallback(callback: callback, userData: description.callback_user_data, imageShape: [1, 3, height, width])
            result = try diffusion.solve(user, parameters: parameters, noise: noise, progress: progress)
        case (FCS_CONSTRAINT_LUMINANCE, let rgb?):
            result = try diffusion.colorize(image: rgb, parameters: parameters, noise: noise, progress: progress)
        case (_, let rgb?):
            result = try diffusion.deblur(image: rgb, blur: try blur(description), parameters: parameters, noise: noise, progress: progress)
        default:
            throw .internal("fcs_solve: no image for constraint \(description.kind.rawValue)")
        }
        let channels = input.map { description.kind == FCS_CONSTRAINT_LUMINANCE && $0.channels == 1 ? 3 : $0.channels } ?? 3
        out.pointee = try makeImage(rgb: result, alpha: alpha, channels: channels, format: input?.format ?? FCS_PIXEL_F32)
    }
}

/// The request's size: the image's, or the constraint's for a callback without one.
private func size(of input: InputImage?, _ description: fcs_constraint) throws(FCSError) -> (width: Int, height: Int) {
    if let input { return (input.width, input.height) }
    guard description.width > 0, description.height > 0 else {
        throw .invalidArgument("image is NULL and constraint.width × height is \(description.width)×\(description.height); one of them must give the size")
    }
    return (Int(description.width), Int(description.height))
}

/// The blur a blur constraint describes.
private func blur(_ description: fcs_constraint) throws(FCSError) -> Blur {
    guard description.kind == FCS_CONSTRAINT_KERNEL_BLUR else {
        guard description.sigma.isFinite, description.sigma > 0, description.sigma <= 30 else {
            throw .invalidArgument("constraint.sigma must be in (0, 30], not \(description.sigma)")
        }
        return try Blur(gaussianSigma: description.sigma)
    }
    let kernel = try InputImage(description.kernel, name: "constraint.kernel")
    guard kernel.width <= 255, kernel.height <= 255, kernel.width % 2 == 1, kernel.height % 2 == 1 else {
        throw .invalidArgument("constraint.kernel is \(kernel.width)×\(kernel.height); its sides must be odd, at most 255")
    }
    do {
        return try Blur(kernel: try kernel.firstChannel(), height: kernel.height, width: kernel.width)
    } catch {
        throw .invalidArgument("constraint.kernel: \(error.message)")
    }
}
