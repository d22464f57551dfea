// fcs_model: an opaque handle to a loaded StableDiffusion. Live handles are registered, so a
// freed or foreign pointer is an error message, not a crash.
import CFCS
import FCSModels
import FCSSampler
import FCSTensor
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

final class ModelHandle: Sendable {
    let model: DiffusionModel
    init(_ model: DiffusionModel) { self.model = model }
}

private let liveHandles = Mutex(Set<UInt>())

/// The model behind a handle the caller passed, retained for the duration of a call.
func model(_ handle: OpaquePointer?) throws(FCSError) -> ModelHandle {
    guard let handle else { throw .invalidArgument("model is NULL") }
    let key = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(handle)))
    let retained: ModelHandle? = liveHandles.withLock { live in
        live.contains(key) ? Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue() : nil
    }
    guard let retained else { throw .invalidArgument("model is not a loaded fcs_model (already freed?)") }
    return retained
}

@c(fcs_model_params_default)
public func fcsModelParamsDefault() -> fcs_model_params {
    fcs_model_params(weight_type: fcs_weight_type(rawValue: UInt32(FCS_DEFAULT_WEIGHT_TYPE)),
                     variant: fcs_file_variant(rawValue: UInt32(FCS_DEFAULT_VARIANT)), config_folder: nil, transport_vae: nil,
                     lora_paths: nil, lora_scales: nil, n_loras: 0, precision: fcs_precision(rawValue: UInt32(FCS_DEFAULT_PRECISION)))
}

@c(fcs_model_load)
public func fcsModelLoad(_ path: UnsafePointer<CChar>?, _ params: UnsafePointer<fcs_model_params>?,
                         _ outModel: UnsafeMutablePointer<OpaquePointer?>?) -> fcs_status {
    withStatus { () throws(FCSError) in
        guard let outModel else { throw .invalidArgument("out_model is NULL") }
        outModel.pointee = nil
        let reference = try string(path, name: "path")
        let params = params?.pointee ?? fcsModelParamsDefault()
        var options = StableDiffusion.LoadOptions()
        guard let precision = WeightPrecision(params.weight_type) else {
            throw .invalidArgument("weight_type \(params.weight_type.rawValue) is neither FCS_WEIGHTS_F32 nor FCS_WEIGHTS_F16")
        }
        options.precision = precision
        options.compute = try computePrecision(params.precision)
        guard let variant = StableDiffusion.Variant(params.variant) else {
            throw .invalidArgument("variant \(params.variant.rawValue) is not an fcs_file_variant")
        }
        options.variant = variant
        if params.config_folder != nil { options.configFolder = try string(params.config_folder, name: "config_folder") }
        let transport = params.transport_vae == nil ? nil : try string(params.transport_vae, name: "transport_vae")
        options.loras = try loras(params)
        let withLoRAs = options.loras.isEmpty ? "" : " with LoRAs " + options.loras.map { "\($0.path) (scale \($0.scale))" }.joined(separator: ", ")
        log(FCS_LOG_INFO, "loading \(reference)\(withLoRAs), precision \(options.compute.rawValue)")
        var model = try DiffusionModel.load(reference, options: options)
        if let transport {
            // Published TAESD folders have one file, fp16: the model's variant would not fit. TAESD
            // runs in float32 whatever the model's precision (AutoencoderTiny.load's automatic).
            let taesd = try AutoencoderTiny.load(transport)
            model = try model.transporting(with: taesd, source: transport)
            log(FCS_LOG_INFO, "super-resolution transport: \(transport)")
        }
        let handle = ModelHandle(model)
        let pointer = Unmanaged.passRetained(handle).toOpaque()
        liveHandles.withLock { _ = $0.insert(UInt(bitPattern: Int(bitPattern: pointer))) }
        outModel.pointee = OpaquePointer(pointer)
        log(FCS_LOG_INFO, "loaded \(reference)")
    }
}

@c(fcs_model_free)
public func fcsModelFree(_ model: OpaquePointer?) {
    guard let model else { return }
    let key = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(model)))
    guard liveHandles.withLock({ $0.remove(key) }) != nil else { return }
    Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(model)).release()
}

/// The LoRA files and scales of `params`, validated.
private func loras(_ params: fcs_model_params) throws(FCSError) -> [LoRAReference] {
    guard (0...FCS_MAX_LORAS).contains(params.n_loras) else {
        throw .invalidArgument("n_loras must be 0 … \(FCS_MAX_LORAS), not \(params.n_loras)")
    }
    guard params.n_loras > 0 else { return [] }
    guard let paths = params.lora_paths else { throw .invalidArgument("lora_paths is NULL but n_loras is \(params.n_loras)") }
    var loras: [LoRAReference] = []
    for i in 0..<Int(params.n_loras) {
        let scale = params.lora_scales?[i] ?? 1
        guard scale.isFinite else { throw .invalidArgument("lora_scales[\(i)] is \(scale), not a finite number") }
        loras.append(LoRAReference(path: try string(paths[i], name: "lora_paths[\(i)]"), scale: scale))
    }
    return loras
}

/// A C string argument as UTF-8 text.
func string(_ pointer: UnsafePointer<CChar>?, name: String) throws(FCSError) -> String {
    guard let pointer else { throw .invalidArgument("\(name) is NULL") }
    guard let text = String(validatingCString: pointer) else { throw .invalidArgument("\(name) is not valid UTF-8") }
    return text
}
