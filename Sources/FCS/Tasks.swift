// The three tasks behind the C ABI: convert the caller's images, run the sampler, convert back.
import CFCS
import FCSModels
import FCSSampler
import FCSTensor

/// Refuses a request whose images alone (the caller's pixels converted to planes, the copies
/// inpainting's context window makes, the result) would not fit in memory, before any of them is
/// allocated: about 64 bytes per pixel in and out. The model's working set is checked by the task.
private func checkImageMemory(pixels: Int, task: String) throws(FCSError) {
    try RequestLimits.checkMemory(pixels * 64, task: task)
}

@c(fcs_inpaint)
public func fcsInpaint(_ model: OpaquePointer?, _ image: UnsafePointer<fcs_image>?, _ mask: UnsafePointer<fcs_image>?,
                       _ params: UnsafePointer<fcs_sample_params>?, _ out: UnsafeMutablePointer<fcs_image>?) -> fcs_status {
    withStatus { () throws(FCSError) in
        let handle = try FCS.model(model), out = try outputSlot(out, name: "out")
        let input = try InputImage(image, name: "image"), maskImage = try InputImage(mask, name: "mask")
        guard (maskImage.width, maskImage.height) == (input.width, input.height) else {
            throw .invalidArgument("mask is \(maskImage.width)×\(maskImage.height), image is \(input.width)×\(input.height)")
        }
        try checkImageMemory(pixels: input.width * input.height, task: "inpainting \(input.width)×\(input.height)")
        let params = params?.pointee ?? fcsSampleParamsDefault()
        var parameters = InpaintingParameters()
        let common = try CommonParameters(params, defaults: parameters.sampler)
        (parameters.sampler, parameters.prompt, parameters.seed) = (common.sampler, common.prompt, common.seed)
        parameters.pasteBack = params.paste_back != 0
        guard (1...256).contains(params.seam_width) else { throw .invalidArgument("seam_width must be 1 … 256, not \(params.seam_width)") }
        parameters.seamWidth = Int(params.seam_width)
        guard params.context_crop_above >= 0, (64...8192).contains(params.context_size) else {
            throw .invalidArgument("context_crop_above must be ≥ 0 and context_size 64 … 8192, not \(params.context_crop_above), \(params.context_size)")
        }
        (parameters.contextCropAbove, parameters.contextSize) = (Int(params.context_crop_above), Int(params.context_size))
        guard let method = InpaintingParameters.Method(params.method) else {
            throw .invalidArgument("method \(params.method.rawValue) is not an fcs_inpaint_method")
        }
        parameters.method = method
        let diffusion = handle.model
        log(FCS_LOG_INFO, "inpaint \(input.width)×\(input.height), \(parameters.sampler.steps) steps, K = \(parameters.sampler.newtonSteps)")
        let (rgb, alpha) = try input.pixels()
        let result = try diffusion.inpaint(image: rgb, fillMask: try maskImage.fillMask(), parameters: parameters,
                                           noise: try common.noise(), progress: progressClosure(params))
        out.pointee = try makeImage(rgb: result, alpha: alpha, channels: input.channels, format: input.format)
    }
}

@c(fcs_super_resolve)
public func fcsSuperResolve(_ model: OpaquePointer?, _ image: UnsafePointer<fcs_image>?, _ scale: Int32,
                            _ params: UnsafePointer<fcs_sample_params>?, _ out: UnsafeMutablePointer<fcs_image>?) -> fcs_status {
    withStatus { () throws(FCSError) in
        let handle = try FCS.model(model), out = try outputSlot(out, name: "out")
        guard [2, 4, 8].contains(scale) else { throw .invalidArgument("scale must be 2, 4 or 8, not \(scale)") }
        let input = try InputImage(image, name: "image"), factor = Int(scale)
        try RequestLimits.checkSampled(width: input.width * factor, height: input.height * factor, task: "super-resolution")
        try checkImageMemory(pixels: input.width * factor * input.height * factor, task: "super-resolution to \(input.width * factor)×\(input.height * factor)")
        let params = params?.pointee ?? fcsSampleParamsDefault()
        let diffusion = handle.model
        var parameters = SuperResolutionParameters(for: diffusion)
        let common = try CommonParameters(params, defaults: parameters.sampler)
        (parameters.sampler, parameters.prompt, parameters.seed) = (common.sampler, common.prompt, common.seed)
        log(FCS_LOG_INFO, "super-resolve \(input.width)×\(input.height) ×\(factor), \(parameters.sampler.steps) steps, K = \(parameters.sampler.newtonSteps)")
        let (rgb, alpha) = try input.pixels()
        let result = try diffusion.superResolve(image: rgb, factor: factor, parameters: parameters, noise: try common.noise(),
                                                progress: progressClosure(params))
        let bigAlpha = try alpha.map { alpha throws(FCSError) in try BicubicResizer(scale: Double(factor))(alpha) }
        out.pointee = try makeImage(rgb: result, alpha: bigAlpha, channels: input.channels, format: input.format)
    }
}

@c(fcs_extract_layers)
public func fcsExtractLayers(_ model: OpaquePointer?, _ image: UnsafePointer<fcs_image>?, _ params: UnsafePointer<fcs_layer_params>?,
                             _ layer1: UnsafeMutablePointer<fcs_image>?, _ layer2: UnsafeMutablePointer<fcs_image>?,
                             _ mask: UnsafeMutablePointer<fcs_image>?) -> fcs_status {
    withStatus { () throws(FCSError) in
        let handle = try FCS.model(model)
        let out1 = try outputSlot(layer1, name: "layer1"), out2 = try outputSlot(layer2, name: "layer2")
        let outMask = try outputSlot(mask, name: "mask")
        let input = try InputImage(image, name: "image")
        try RequestLimits.checkSampled(width: input.width, height: input.height, task: "layer extraction")
        try checkImageMemory(pixels: input.width * input.height, task: "layer extraction \(input.width)×\(input.height)")
        let params = params?.pointee ?? fcsLayerParamsDefault()
        var parameters = LayerExtractionParameters()
        let common = try CommonParameters(params.sample, defaults: parameters.sampler)
        guard common.noisePath == nil else { throw .invalidArgument("layer extraction draws many samples; noise_path is not supported, use seed") }
        (parameters.sampler, parameters.prompt, parameters.seed) = (common.sampler, common.prompt, common.seed)
        for (value, field) in [(params.iterations, "iterations"), (params.samples_per_layer, "samples_per_layer"), (params.restarts, "restarts")] {
            guard (1...100).contains(value) else { throw .invalidArgument("\(field) must be 1 … 100, not \(value)") }
        }
        guard params.block_size >= 8, params.block_size % 8 == 0, params.block_size <= 4096 else {
            throw .invalidArgument("block_size must be a multiple of 8 from 8 to 4096, not \(params.block_size)")
        }
        (parameters.iterations, parameters.samplesPerLayer) = (Int(params.iterations), Int(params.samples_per_layer))
        (parameters.restarts, parameters.initialBlockSize) = (Int(params.restarts), Int(params.block_size))
        var hint: Tensor?
        if params.hint != nil {
            let hintImage = try InputImage(params.hint, name: "hint")
            guard (hintImage.width, hintImage.height) == (input.width, input.height) else {
                throw .invalidArgument("hint is \(hintImage.width)×\(hintImage.height), image is \(input.width)×\(input.height)")
            }
            hint = try hintImage.fillMask()
        }
        log(FCS_LOG_INFO, "extract layers \(input.width)×\(input.height), \(parameters.iterations) iterations × \(parameters.restarts) restarts")
        let (rgb, alpha) = try input.pixels()
        let layers = try handle.model.extractLayers(image: rgb, hint: hint, parameters: parameters, progress: progressClosure(params.sample))
        var made: [fcs_image] = []  // all three results or none
        do throws(FCSError) {
            for layer in [layers.layer1, layers.layer2] {
                made.append(try makeImage(rgb: layer, alpha: alpha, channels: input.channels, format: input.format))
            }
            made.append(try makeImage(samples: layers.mask.toArray(), width: input.width, height: input.height, channels: 1, format: input.format))
        } catch {
            for var image in made { fcsImageFree(&image) }
            throw error
        }
        (out1.pointee, out2.pointee, outMask.pointee) = (made[0], made[1], made[2])
    }
}
