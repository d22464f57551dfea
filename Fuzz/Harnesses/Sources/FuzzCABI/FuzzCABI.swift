// Fuzzes the C entry points' argument validation. The input decodes to one call of
// fcs_inpaint, fcs_super_resolve, fcs_extract_layers, fcs_solve or fcs_model_load: image and mask
// descriptors (FuzzImage), every fcs_sample_params / fcs_layer_params / fcs_constraint field (a
// constraint callback that misbehaves in each way the header forbids), NULL and foreign
// pointers. The model is the tiny pixel-space fixture, loaded once. Requests that pass
// validation are kept cheap (small images, 0–1 inner steps, a progress callback that cancels at
// once), so that the fuzzer spends its time on validation. A call must return a status, and
// honour it: a result on FCS_OK, a message otherwise.
import CFCS
import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) let model: OpaquePointer = {
    _ = fcs_set_num_threads(1)
    var model: OpaquePointer?
    guard fcs_model_load(Fixtures.tinyPixelSpace, nil, &model) == FCS_OK, let model else {
        fatalError("harness: cannot load \(Fixtures.tinyPixelSpace): \(String(cString: fcs_last_error()))")
    }
    return model
}()

/// Something that is not an fcs_model but is memory the harness owns.
nonisolated(unsafe) var foreignObject = [UInt64](repeating: 0x5A5A_5A5A_5A5A_5A5A, count: 8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCABI(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let allocations = Allocations()
    // 0xF0 and above: fcs_solve, added after the seeds and reproducers, which start below it
    let task = input.byte()
    switch task >= 0xF0 ? 4 : task % 4 {
    case 0: inpaint(&input, allocations)
    case 1: superResolve(&input, allocations)
    case 2: extractLayers(&input, allocations)
    case 3: loadModel(&input, allocations)
    default: solve(&input, allocations)
    }
    return 0
}

func modelArgument(_ input: inout FuzzInput) -> OpaquePointer? {
    switch input.byte() {
    case 255: nil
    case 254: foreignObject.withUnsafeMutableBytes { OpaquePointer($0.baseAddress) }
    default: model
    }
}

/// Whether a task gets NULL parameters: two bytes that mutations rarely write (unlike runs of
/// 0xFF). NULL means the defaults: 20 steps, K = 5 or 10 and no callback to cancel them, 10–30 s
/// of forwards under ASan. At 1 in 256, or on two 0xFF bytes, they were most of the harness's time.
func nullParameters(_ input: inout FuzzInput) -> Bool {
    input.byte() == 0xA5 && input.byte() == 0x5A
}

/// An output slot (zeroed), or NULL.
func outputArgument(_ input: inout FuzzInput, _ allocations: Allocations) -> UnsafeMutablePointer<fcs_image>? {
    input.byte() == 255 ? nil : allocations.pointer(to: fcs_image())
}

/// The progress callback of requests that pass validation: cancel at the first report.
let cancelAtOnce: fcs_progress_callback = { _, _, _ in 1 }

/// fcs_sample_params with every field decoded; the values that validation would accept are
/// clamped to the cheapest ones of their kind for an output of `outputPixels`.
func sampleParameters(_ input: inout FuzzInput, _ allocations: Allocations, outputPixels: Int) -> fcs_sample_params {
    var params = fcs_sample_params_default()
    params.seed = input.uint64()
    params.steps = input.int32(small: 1 ... 4)
    params.newton_steps = input.int32(small: -1 ... 1)
    // the defaults (5 inpainting, 10 super-resolution) only on the smallest images
    if (0 ... 100).contains(params.newton_steps) || (params.newton_steps == -1 && outputPixels > 64) {
        params.newton_steps = min(max(params.newton_steps, 0), 1)
    }
    if input.byte() >= 128 {
        let count = input.int32(small: 1 ... 4)
        params.n_learning_rates = count
        let owned = (1 ... 1000).contains(count) ? Int(count) : 4
        params.learning_rates = allocations.floats((0..<owned).map { _ in input.float(typical: 0.3) })
    } else {
        params.n_learning_rates = input.int32(small: 0 ... 4)
    }
    params.fd_step = input.float(typical: 0.005)
    params.guidance_scale = input.float(typical: 0)
    params.prompt = switch input.byte() {
    case 0 ..< 192: nil
    case 192 ..< 224: allocations.cString([])
    default: allocations.cString(input.bytes(Int(input.byte() % 24)))
    }
    params.official_timesteps = input.int32(small: 0 ... 1)
    params.paste_back = input.int32(small: 0 ... 1)
    params.seam_width = input.int32(small: 1 ... 16)
    params.context_crop_above = input.int32(small: 0 ... 64)
    params.context_size = input.int32(small: 62 ... 66)
    params.method = fcs_inpaint_method(rawValue: UInt32(bitPattern: input.int32(small: 0 ... 2)))
    params.noise_path = switch input.byte() {
    case 0 ..< 232: nil
    case 232 ..< 236: allocations.cString([])
    case 236 ..< 240: allocations.cString(Array("/nonexistent/noise.safetensors".utf8))
    case 240 ..< 244: allocations.cString(Array("/".utf8))
    case 244 ..< 248: allocations.cString(Array((Fixtures.tinyPixelSpace + "/reference.safetensors").utf8))
    default: allocations.cString(input.bytes(Int(input.byte() % 24)))
    }
    // No callback, 1 input in 128: the request runs to its end, so make it one step. Those runs
    // are network forwards (nearly all of the harness's time when they were every input that ends
    // before this byte, which reads as 0), and what they check — a result of the right size —
    // does not need many of them.
    if (1 ... 2).contains(input.byte()) {
        if (1 ... 1000).contains(params.steps) { params.steps = 1 }
    } else {
        params.progress = cancelAtOnce
    }
    return params
}

func inpaint(_ input: inout FuzzInput, _ allocations: Allocations) {
    let model = modelArgument(&input)
    let image = input.byte() == 255 ? nil : FuzzImage(&input, maxSide: 32, maxPixels: 1024, in: allocations)
    let sameSize = input.byte() < 224
    let mask = input.byte() == 255 ? nil
        : FuzzImage(&input, maxSide: 32, maxPixels: 1024,
                    size: sameSize ? image.map { ($0.descriptor.width, $0.descriptor.height) } : nil, in: allocations)
    guard image?.isBacked != false, mask?.isBacked != false else { return }
    let pixels = image.map { Int($0.descriptor.width) * Int($0.descriptor.height) } ?? 0
    let params = nullParameters(&input) ? nil : allocations.pointer(to: sampleParameters(&input, allocations, outputPixels: pixels))
    let out = outputArgument(&input, allocations)
    let status = withDescriptor(image) { image in
        withDescriptor(mask) { mask in fcs_inpaint(model, image, mask, params, out) }
    }
    check(status, results: [out], sizes: [image.map { ($0.descriptor.width, $0.descriptor.height) }])
}

func superResolve(_ input: inout FuzzInput, _ allocations: Allocations) {
    let model = modelArgument(&input)
    let scale = input.int32(small: 1 ... 8)
    let factor = [2, 4, 8].contains(scale) ? Int(scale) : 1
    let image = input.byte() == 255 ? nil : FuzzImage(&input, maxSide: 8, maxPixels: 1024 / (factor * factor), in: allocations)
    guard image?.isBacked != false else { return }
    // the area of edge-value sides (negative ones too) is clamped, so that the scale cannot overflow it
    let pixels = max(0, min(image.map { Int($0.descriptor.width) * Int($0.descriptor.height) } ?? 0, 1 << 40)) * factor * factor
    let params = nullParameters(&input) ? nil : allocations.pointer(to: sampleParameters(&input, allocations, outputPixels: pixels))
    let out = outputArgument(&input, allocations)
    let status = withDescriptor(image) { image in fcs_super_resolve(model, image, scale, params, out) }
    check(status, results: [out], sizes: [image.map { ($0.descriptor.width &* scale, $0.descriptor.height &* scale) }])
}

func extractLayers(_ input: inout FuzzInput, _ allocations: Allocations) {
    let model = modelArgument(&input)
    let image = input.byte() == 255 ? nil : FuzzImage(&input, maxSide: 16, maxPixels: 256, in: allocations)
    guard image?.isBacked != false else { return }
    let size = image.map { ($0.descriptor.width, $0.descriptor.height) }
    var params = fcs_layer_params_default()
    params.sample = sampleParameters(&input, allocations, outputPixels: Int(size?.0 ?? 0) * Int(size?.1 ?? 0))
    if (1 ... 1000).contains(params.sample.steps) { params.sample.steps = 1 }
    params.iterations = input.int32(small: 1 ... 2)
    params.samples_per_layer = input.int32(small: 1 ... 2)
    params.restarts = input.int32(small: 1 ... 2)
    for field in [\fcs_layer_params.iterations, \.samples_per_layer, \.restarts] where (1 ... 100).contains(params[keyPath: field]) {
        params[keyPath: field] = 1
    }
    params.block_size = input.int32(small: 7 ... 17)
    if input.byte() >= 192 {
        let hint = FuzzImage(&input, maxSide: 16, maxPixels: 256, size: input.byte() < 224 ? size : nil, in: allocations)
        guard hint.isBacked else { return }
        params.hint = UnsafePointer(allocations.pointer(to: hint.descriptor))
    }
    let paramsArgument = nullParameters(&input) ? nil : allocations.pointer(to: params)
    let outs = (0..<3).map { _ in outputArgument(&input, allocations) }
    let status = withDescriptor(image) { image in fcs_extract_layers(model, image, paramsArgument, outs[0], outs[1], outs[2]) }
    check(status, results: outs, sizes: [size, size, size])
}

/// What the harness's constraint callback does, picked by the input (its user data).
enum CallbackMode: UInt8, CaseIterable {
    /// pull the estimate towards mid-grey: a valid constraint
    case towardsGrey
    /// cancel: non-zero
    case cancel
    /// a NaN change at one pixel
    case nanChange
    /// a negative weight at one pixel
    case negativeWeight
    /// weight 0 everywhere: no pixel constrained, so the change is all zeros
    case unconstrained
}

/// The harness's fcs_constraint_callback: checks the buffers fcs hands it (the request's size,
/// F32, packed), then acts as its mode says, writing only inside them.
let harnessConstraint: fcs_constraint_callback = { estimate, change, weight, userData in
    guard let estimate, let change, let weight, let userData else {
        require(false, "constraint callback: a NULL argument")
        return 1
    }
    let (e, d, w) = (estimate.pointee, change.pointee, weight.pointee)
    let expected = userData.load(fromByteOffset: 4, as: (Int32, Int32).self)
    for (image, channels) in [(e, 3), (d, 3), (w, 1)] {
        require((image.width, image.height) == expected && image.channels == Int32(channels) && image.format == FCS_PIXEL_F32
                && image.stride == Int(image.width) * channels * 4 && image.data != nil,
                "constraint callback: a buffer of \(image.width)×\(image.height)×\(image.channels), expected \(expected.0)×\(expected.1)")
    }
    let plane = Int(e.width) * Int(e.height)
    let estimates = e.data.assumingMemoryBound(to: Float.self), changes = d.data.assumingMemoryBound(to: Float.self)
    let weights = w.data.assumingMemoryBound(to: Float.self)
    switch CallbackMode(rawValue: userData.load(as: UInt8.self)) ?? .towardsGrey {
    case .towardsGrey: for i in 0..<3 * plane { changes[i] = 0.5 - estimates[i] }
    case .cancel: return -7
    case .nanChange: changes[plane / 2 * 3 + 1] = .nan
    case .negativeWeight: weights[plane - 1] = -0.25
    case .unconstrained: for i in 0..<plane { weights[i] = 0 }
    }
    return 0
}

func solve(_ input: inout FuzzInput, _ allocations: Allocations) {
    let model = modelArgument(&input)
    let image = input.byte() >= 224 ? nil : FuzzImage(&input, maxSide: 32, maxPixels: 1024, in: allocations)
    guard image?.isBacked != false else { return }
    var constraint = fcs_constraint_default()
    constraint.kind = fcs_constraint_kind(rawValue: UInt32(bitPattern: input.int32(small: 0 ... 3)))
    constraint.sigma = input.float(typical: 1)
    if input.byte() >= 128 {
        let kernel = FuzzImage(&input, maxSide: 9, maxPixels: 81, in: allocations)
        guard kernel.isBacked else { return }
        constraint.kernel = UnsafePointer(allocations.pointer(to: kernel.descriptor))
    }
    constraint.width = input.int32(small: 1 ... 32)
    constraint.height = input.int32(small: 1 ... 32)
    let size = image.map { ($0.descriptor.width, $0.descriptor.height) } ?? (constraint.width, constraint.height)
    // A size with no image that passes validation runs at full size (up to fcs.h's limit of
    // 2048×2048 sampled pixels: minutes under ASan without a callback that cancels), so only small
    // ones are tried, as FuzzImage keeps images small; larger ones must be refused.
    let area = Int(constraint.width) * Int(constraint.height)
    if image == nil, constraint.width > 0, constraint.height > 0, area > 1024, area <= 2048 * 2048 { return }
    if input.byte() < 224 {
        constraint.callback = harnessConstraint
        // the mode, then the size the callback must be handed
        let userData = allocations.buffer(12)
        userData.storeBytes(of: CallbackMode.allCases[Int(input.byte()) % CallbackMode.allCases.count].rawValue, as: UInt8.self)
        userData.storeBytes(of: size, toByteOffset: 4, as: (Int32, Int32).self)
        constraint.callback_user_data = userData
    }
    let constraintArgument = input.byte() == 255 ? nil : allocations.pointer(to: constraint)
    let pixels = max(0, min(Int(size.0) * Int(size.1), 1 << 40))
    let params = nullParameters(&input) ? nil : allocations.pointer(to: sampleParameters(&input, allocations, outputPixels: pixels))
    let out = outputArgument(&input, allocations)
    let status = withDescriptor(image) { image in fcs_solve(model, image, constraintArgument, params, out) }
    check(status, results: [out], sizes: [size])
}

func loadModel(_ input: inout FuzzInput, _ allocations: Allocations) {
    let path: UnsafePointer<CChar>? = switch input.byte() % 8 {
    case 0: nil
    case 1: allocations.cString([])
    case 2: allocations.cString(Array("/nonexistent/model".utf8))
    case 3: allocations.cString(Array("weights.ckpt".utf8))
    case 4: allocations.cString(Array("org/name".utf8))
    case 5: allocations.cString(input.bytes(Int(input.byte() % 32)))
    default: allocations.cString(Array(Fixtures.tinyPixelSpace.utf8))
    }
    var params = fcs_model_params_default()
    params.weight_type = fcs_weight_type(rawValue: UInt32(bitPattern: input.int32(small: 0 ... 2)))
    params.variant = fcs_file_variant(rawValue: UInt32(bitPattern: input.int32(small: 0 ... 3)))
    params.config_folder = switch input.byte() % 4 {
    case 0: nil
    case 1: allocations.cString(Array(Fixtures.tinySD.utf8))
    case 2: allocations.cString([])
    default: allocations.cString(input.bytes(Int(input.byte() % 32)))
    }
    let paramsArgument = input.byte() == 255 ? nil : allocations.pointer(to: params)
    let out: UnsafeMutablePointer<OpaquePointer?>? = input.byte() == 255 ? nil : allocations.pointer(to: nil)
    let status = fcs_model_load(path, paramsArgument, out)
    if status == FCS_OK {
        require(out?.pointee != nil, "fcs_model_load: FCS_OK without a model")
        fcs_model_free(out?.pointee)
    } else {
        checkMessage(status)
    }
    fcs_model_free(foreignObject.withUnsafeMutableBytes { OpaquePointer($0.baseAddress) })  // must be ignored
}

func withDescriptor<R>(_ image: FuzzImage?, _ body: (UnsafePointer<fcs_image>?) -> R) -> R {
    guard var descriptor = image?.descriptor else { return body(nil) }
    return withUnsafePointer(to: &descriptor) { body($0) }
}

/// The status contract: FCS_OK fills every result with the expected size; anything else leaves
/// a message. (Messages quote the caller's strings, newlines included, so "one line" is not
/// checked.)
func check(_ status: fcs_status, results: [UnsafeMutablePointer<fcs_image>?], sizes: [(Int32, Int32)?]) {
    guard status == FCS_OK else {
        checkMessage(status)
        for result in results { fcs_image_free(result) }
        return
    }
    for (result, size) in zip(results, sizes) {
        guard let result, let size else { require(false, "FCS_OK with a NULL argument"); return }
        require(result.pointee.data != nil, "FCS_OK without result pixels")
        require((result.pointee.width, result.pointee.height) == size,
                     "result is \(result.pointee.width)×\(result.pointee.height), expected \(size.0)×\(size.1)")
        fcs_image_free(result)
    }
}

func checkMessage(_ status: fcs_status) {
    let message = String(cString: fcs_last_error())
    require(!message.isEmpty, "status \(status.rawValue) without a message")
}
