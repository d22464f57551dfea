// fcs_sample_params / fcs_layer_params: their defaults (the header's FCS_DEFAULT_* macros) and
// their translation into the sampler's parameter types, validating every field.
import CFCS
import FCSSampler
import FCSTensor
#if canImport(Glibc)
import Glibc
#endif

@c(fcs_sample_params_default)
public func fcsSampleParamsDefault() -> fcs_sample_params {
    fcs_sample_params(seed: UInt64(FCS_DEFAULT_SEED), steps: FCS_DEFAULT_STEPS, newton_steps: FCS_DEFAULT_NEWTON_STEPS,
                      learning_rates: nil, n_learning_rates: 0, fd_step: FCS_DEFAULT_FD_STEP, prompt: nil,
                      guidance_scale: FCS_DEFAULT_GUIDANCE_SCALE, official_timesteps: FCS_DEFAULT_OFFICIAL_TIMESTEPS,
                      paste_back: FCS_DEFAULT_PASTE_BACK, seam_width: FCS_DEFAULT_SEAM_WIDTH,
                      context_crop_above: FCS_DEFAULT_CONTEXT_CROP_ABOVE, context_size: FCS_DEFAULT_CONTEXT_SIZE,
                      method: fcs_inpaint_method(rawValue: UInt32(FCS_DEFAULT_METHOD)),
                      noise_path: nil, progress: nil, user_data: nil, sampler: fcs_sampler(rawValue: UInt32(FCS_DEFAULT_SAMPLER)))
}

/// The outer sampler of a C value.
func outerSampler(_ sampler: fcs_sampler) throws(FCSError) -> OuterSampler {
    guard let match = OuterSampler(sampler) else {
        throw .invalidArgument("sampler \(sampler.rawValue) is not an fcs_sampler (0 … \(OuterSampler.allCases.count - 1))")
    }
    return match
}

/// The names, NUL-terminated, that fcs_sampler_name returns, in OuterSampler.allCases' order
/// (allocated once, never written or freed).
nonisolated(unsafe) private let samplerNames: [UnsafePointer<CChar>] = OuterSampler.allCases.map { UnsafePointer(strdup($0.rawValue)!) }

@c(fcs_sampler_name)
public func fcsSamplerName(_ sampler: fcs_sampler) -> UnsafePointer<CChar>? {
    OuterSampler.allCases.firstIndex { $0.cValue == sampler }.map { samplerNames[$0] }
}

@c(fcs_sampler_from_name)
public func fcsSamplerFromName(_ name: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<fcs_sampler>?) -> fcs_status {
    withStatus { () throws(FCSError) in
        guard let out else { throw .invalidArgument("out_sampler is NULL") }
        let text = try string(name, name: "sampler name")
        guard let match = OuterSampler(rawValue: text) else {
            throw .invalidArgument("sampler \"\(text)\" is not one of \(OuterSampler.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        out.pointee = match.cValue
    }
}

@c(fcs_layer_params_default)
public func fcsLayerParamsDefault() -> fcs_layer_params {
    var sample = fcsSampleParamsDefault()
    sample.steps = FCS_DEFAULT_LAYER_STEPS
    return fcs_layer_params(sample: sample, iterations: FCS_DEFAULT_ITERATIONS, samples_per_layer: FCS_DEFAULT_SAMPLES_PER_LAYER,
                            restarts: FCS_DEFAULT_RESTARTS, block_size: FCS_DEFAULT_BLOCK_SIZE, hint: nil)
}

/// What every task reads from fcs_sample_params.
struct CommonParameters {
    var sampler: SamplerParameters
    var prompt: String
    var seed: UInt64
    var noisePath: String?

    /// - Parameter defaults: the task's sampler defaults, for the fields left at "task default".
    init(_ params: fcs_sample_params, defaults: SamplerParameters) throws(FCSError) {
        sampler = defaults
        guard (1...1000).contains(params.steps) else { throw .invalidArgument("steps must be 1 … 1000, not \(params.steps)") }
        sampler.steps = Int(params.steps)
        guard params.newton_steps >= -1, params.newton_steps <= 100 else {
            throw .invalidArgument("newton_steps must be 0 … 100 (or -1 for the task's default), not \(params.newton_steps)")
        }
        if params.newton_steps >= 0 { sampler.newtonSteps = Int(params.newton_steps) }
        if let rates = params.learning_rates {
            guard (1...1000).contains(params.n_learning_rates) else {
                throw .invalidArgument("n_learning_rates must be 1 … 1000 when learning_rates is set, not \(params.n_learning_rates)")
            }
            sampler.learningRates = Array(UnsafeBufferPointer(start: rates, count: Int(params.n_learning_rates)))
        }
        guard params.fd_step > 0, params.fd_step.isFinite else { throw .invalidArgument("fd_step must be a positive number, not \(params.fd_step)") }
        sampler.finiteDifferenceStep = params.fd_step
        guard params.guidance_scale >= 0, params.guidance_scale.isFinite else {
            throw .invalidArgument("guidance_scale must be ≥ 0, not \(params.guidance_scale)")
        }
        sampler.guidanceScale = params.guidance_scale
        sampler.timestepConvention = .init(official: params.official_timesteps != 0)
        sampler.outerSampler = try outerSampler(params.sampler)
        prompt = params.prompt == nil ? "" : try string(params.prompt, name: "prompt")
        seed = params.seed
        noisePath = params.noise_path == nil ? nil : try string(params.noise_path, name: "noise_path")
    }

    /// The noise file's tensors, or nil for seeded noise; the sampler checks their shape.
    func noise() throws(FCSError) -> SamplerNoise? {
        guard let noisePath else { return nil }
        return try SamplerNoise(contentsOf: noisePath, steps: sampler.steps)
    }
}

/// The progress closure the sampler calls, forwarding to the C callback.
func progressClosure(_ params: fcs_sample_params) -> (Int, Int) -> Bool {
    guard let callback = params.progress else { return { _, _ in true } }
    let userData = params.user_data
    return { step, total in callback(Int32(clamping: step), Int32(clamping: total), userData) == 0 }
}
