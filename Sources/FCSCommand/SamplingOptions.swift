import ArgumentParser
import CFCS
import FCS
import FCSModels
import FCSSampler
#if canImport(Glibc)
import Glibc
#endif

/// The library's defaults: each option that has one shows it in --help and starts from it, so
/// the header's FCS_DEFAULT_* macros are the only place a default is written.
var sampleDefaults: fcs_sample_params { fcsSampleParamsDefault() }
var layerDefaults: fcs_layer_params { fcsLayerParamsDefault() }
var modelDefaults: fcs_model_params { fcsModelParamsDefault() }

/// The options every sampling subcommand shares, and what they turn into. Each is named as its
/// fcs_sample_params / fcs_model_params field, in kebab-case.
struct SamplingOptions: ParsableArguments {
    @Option(help: "A diffusers folder, a single-file .safetensors checkpoint, or a hub model name (default: \(defaultModel), see `fcs fetch`).")
    var model: String?

    @Option(help: "super-resolve: a diffusers AutoencoderTiny (TAESD) folder or hub name, e.g. madebyollin/taesd, for the inner loop's VAE passes; the final decode stays the model's VAE (default: the model's VAE throughout).")
    var transportVae: String?

    @Option(name: [.customLong("config-folder"), .customLong("config")], help: ArgumentHelp("""
        Single-file checkpoints: a diffusers folder whose unet/, vae/, text_encoder/ config.json, tokenizer/ and \
        scheduler/scheduler_config.json describe the model (any of them; what it lacks is inferred from the file's \
        tensors). SD 2.x files need at least the scheduler config: their weights do not say whether they predict ε or v.
        """, valueName: "folder"))
    var configFolder: String?

    @Option(help: "Random seed (default: a new one, printed).")
    var seed: UInt64?

    @Option(help: "Denoising steps (default: \(sampleDefaults.steps); \(layerDefaults.sample.steps) for extract-layers).")
    var steps: Int32?

    @Option(help: "Outer sampler: paper (the paper's DDIM-like step), dpm++2m (DPM-Solver++(2M): about 10 steps) or lcm (LCM checkpoints: 4–8 steps).")
    var sampler = name(of: sampleDefaults.sampler, fcsSamplerName)

    @Option(help: """
        Inner correction steps K per denoising step; -1: the task's, \(InpaintingParameters().sampler.newtonSteps) inpaint, \
        \(SuperResolutionParameters().sampler.newtonSteps) super-resolve.
        """)
    var newtonSteps = sampleDefaults.newton_steps

    @Option(help: """
        Learning rates λ of the inner steps, comma-separated (default: \(defaultRates(InpaintingParameters().sampler)) inpaint; \
        \(defaultRates(SuperResolutionParameters().sampler)) super-resolve, \(FCS_DEFAULT_PIXEL_SUPER_RESOLVE_LEARNING_RATE) with pixel-space models).
        """)
    var learningRates: String?

    @Option(help: "Finite-difference step h of the Jacobian product.")
    var fdStep = sampleDefaults.fd_step

    @Option(help: "Text prompt (default: none, as the paper).")
    var prompt = ""

    @Option(help: "Classifier-free guidance scale; on when > 1.")
    var guidanceScale = sampleDefaults.guidance_scale

    @Flag(inversion: .prefixedNo, help: "The official notebooks' UNet timestep t instead of t − 1.")
    var officialTimesteps = sampleDefaults.official_timesteps != 0

    @Option(help: "Compute threads (default: FCS_NUM_THREADS or all cores).")
    var threads: Int32?

    @Option(help: "Weights in memory for fp32 compute: f32 (fastest) or f16 (less memory).")
    var weightType = WeightType(modelDefaults.weight_type)

    @Option(help: "Which files of a diffusers folder to read: auto (*.safetensors, else *.fp16.safetensors), fp16 or fp32.")
    var variant = Variant(modelDefaults.variant)

    @Option(help: """
        Compute precision: auto (fcs's choice for this CPU: bf16 where it has AVX512_BF16, else fp32), fp32 (float32 \
        products, weights as --weight-type), or bf16 (bfloat16 products with float32 sums, bf16 weights: about twice as \
        fast on CPUs with AVX512_BF16, slower without).
        """)
    var precision = name(of: modelDefaults.precision, fcsPrecisionName)

    @Option(help: "LoRA .safetensors files (diffusers/PEFT or kohya, e.g. LCM-LoRA), comma-separated, merged into the model at load.")
    var loraPaths: String?

    @Option(help: "The LoRA files' scales, comma-separated, one per file (default: 1 each).")
    var loraScales: String?

    @Flag(help: "Print a JSON summary on stdout instead of a sentence.")
    var json = false

    /// fcs_weight_type by the names of the header's comments.
    enum WeightType: String, ExpressibleByArgument, CaseIterable {
        case f32, f16
        init(_ value: fcs_weight_type) { self = value == FCS_WEIGHTS_F16 ? .f16 : .f32 }
        var cValue: fcs_weight_type { self == .f16 ? FCS_WEIGHTS_F16 : FCS_WEIGHTS_F32 }
    }

    /// fcs_file_variant by the names of the header's comments.
    enum Variant: String, ExpressibleByArgument, CaseIterable {
        case auto, fp16, fp32
        private static let cValues = [FCS_VARIANT_AUTO, FCS_VARIANT_FP16, FCS_VARIANT_FP32]
        init(_ value: fcs_file_variant) { self = Self.allCases[Self.cValues.firstIndex(of: value) ?? 0] }
        var cValue: fcs_file_variant { Self.cValues[Self.allCases.firstIndex(of: self) ?? 0] }
    }

    static let defaultModel = "stable-diffusion-v1-5/stable-diffusion-v1-5"

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let steps, !(1...1000).contains(steps) { throw ValidationError("--steps must be 1 … 1000") }
        _ = try rates()
        _ = try loras()
        _ = try outerSampler()
        _ = try computePrecision()
    }

    /// --sampler as fcs_sampler, read by fcs's own names.
    func outerSampler() throws -> fcs_sampler {
        var value = sampleDefaults.sampler
        guard sampler.withCString({ fcsSamplerFromName($0, &value) }) == FCS_OK else {
            throw ValidationError("--sampler: " + String(cString: fcsLastError()))
        }
        return value
    }

    /// --precision as fcs_precision, read by fcs's own names.
    func computePrecision() throws -> fcs_precision {
        var value = modelDefaults.precision
        guard precision.withCString({ fcsPrecisionFromName($0, &value) }) == FCS_OK else {
            throw ValidationError("--precision: " + String(cString: fcsLastError()))
        }
        return value
    }

    func rates() throws -> [Float]? {
        try learningRates.map { try numbers($0, option: "--learning-rates") }
    }

    /// --lora-paths with --lora-scales (each 1 when not given).
    func loras() throws -> [LoRAReference] {
        let paths = loraPaths.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } ?? []
        guard !paths.contains("") else { throw ValidationError("--lora-paths must be file names separated by commas") }
        let scales = try loraScales.map { try numbers($0, option: "--lora-scales") } ?? paths.map { _ in 1 }
        guard scales.count == paths.count else {
            throw ValidationError("--lora-scales has \(scales.count) values for \(paths.count) --lora-paths files")
        }
        return zip(paths, scales).map { LoRAReference(path: $0, scale: $1) }
    }

    /// Loads the model named by --model (or the default) through the C ABI.
    func loadModel() throws -> OpaquePointer {
        if let threads { _ = fcsSetNumThreads(threads) }
        var params = modelDefaults
        params.weight_type = weightType.cValue
        params.variant = variant.cValue
        params.precision = try computePrecision()
        var handle: OpaquePointer?
        let reference = model ?? Self.defaultModel
        if model == nil, (try? ModelLocation.resolve(reference)) == nil {
            standardError("\(reference) is not in the Hugging Face cache yet: downloading it (once)\n")
            _ = try fetch(reference)
        }
        let loras = try self.loras()
        let paths = loras.map { strdup($0.path) }, scales = loras.map(\.scale)
        defer { paths.forEach { free($0) } }
        let status = withOptionalCString(transportVae) { transport in
            withOptionalCString(configFolder) { folder in
                (params.transport_vae, params.config_folder) = (transport, folder)
                return paths.map { UnsafePointer($0) }.withUnsafeBufferPointer { pathBuffer in
                    scales.withUnsafeBufferPointer { scaleBuffer in
                        (params.lora_paths, params.lora_scales, params.n_loras) = (pathBuffer.baseAddress, scaleBuffer.baseAddress, Int32(loras.count))
                        return reference.withCString { fcsModelLoad($0, &params, &handle) }
                    }
                }
            }
        }
        guard status == FCS_OK, let handle else {
            throw CommandFailure(String(cString: fcsLastError()))
        }
        return handle
    }

    /// One sampling command: loads the model, runs `body` (which calls fcs and writes its
    /// results to `outputs`) with the parameters, moves the results into place and prints the
    /// summary.
    func run(task: String, label: String? = nil, defaultSteps: Int32 = sampleDefaults.steps, noisePath: String? = nil, outputs: OutputFiles,
             _ body: (OpaquePointer, inout fcs_sample_params) throws -> Void) throws {
        let model = try loadModel()
        defer { fcsModelFree(model) }
        let seed = self.seed ?? UInt64.random(in: 0...UInt64.max)
        let progress = ProgressReporter(label: label ?? task, quiet: json)
        do {
            try Interruption.catching {
                try withParams(defaultSteps: defaultSteps, seed: seed, noisePath: noisePath, progress: progress) { try body(model, &$0) }
                guard !Interruption.isRequested else { throw CommandInterrupted() }  // Ctrl-C after the last step
                try outputs.commit()
            }
        } catch is CommandInterrupted {
            progress.endLine()
            standardError("\(task): interrupted; nothing was written\n")
            throw ExitCode(130)  // as a shell reports a command killed by SIGINT
        }
        Summary(task: task, output: outputs.paths, seed: seed, seconds: progress.seconds).print(json: json)
    }

    /// Runs `body` with fcs_sample_params for these options (C strings and rates kept alive).
    private func withParams<Result>(defaultSteps: Int32, seed: UInt64, noisePath: String?, progress: ProgressReporter,
                            _ body: (inout fcs_sample_params) throws -> Result) throws -> Result {
        var params = fcsSampleParamsDefault()
        params.seed = seed
        params.steps = steps ?? defaultSteps
        params.newton_steps = newtonSteps
        params.fd_step = fdStep
        params.guidance_scale = guidanceScale
        params.official_timesteps = officialTimesteps ? 1 : 0
        params.sampler = try outerSampler()
        let rates = try self.rates() ?? []
        return try rates.withUnsafeBufferPointer { rateBuffer in
            try prompt.withCString { promptPointer in
                try withOptionalCString(noisePath) { noisePointer in
                    if !rates.isEmpty { (params.learning_rates, params.n_learning_rates) = (rateBuffer.baseAddress, Int32(rates.count)) }
                    params.prompt = promptPointer
                    params.noise_path = noisePointer
                    params.progress = { step, total, userData in
                        if let userData {
                            Unmanaged<ProgressReporter>.fromOpaque(userData).takeUnretainedValue().report(step: Int(step), total: Int(total))
                        }
                        return Interruption.isRequested ? 1 : 0  // non-zero cancels
                    }
                    params.user_data = Unmanaged.passUnretained(progress).toOpaque()
                    return try withExtendedLifetime(progress) { try body(&params) }
                }
            }
        }
    }
}

/// A comma-separated list of finite numbers, e.g. "0.5,0.3,0.1".
private func numbers(_ text: String, option: String) throws -> [Float] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    let values = parts.compactMap { Float($0.filter { $0 != " " }) }.filter(\.isFinite)
    guard values.count == parts.count else { throw ValidationError("\(option) must be numbers separated by commas, e.g. 0.5,0.3,0.1") }
    return values
}

/// The name fcs gives a C value (fcs_sampler_name, fcs_precision_name); "" for none.
private func name<Value>(of value: Value, _ naming: (Value) -> UnsafePointer<CChar>?) -> String {
    naming(value).map { String(cString: $0) } ?? ""
}

/// The default learning rates of a task's sampler, as --learning-rates takes them.
private func defaultRates(_ sampler: SamplerParameters) -> String {
    (0..<max(sampler.learningRates?.count ?? sampler.newtonSteps, 1)).map { "\(sampler.learningRate(innerStep: $0))" }.joined(separator: ",")
}

private func withOptionalCString<Result>(_ string: String?, _ body: (UnsafePointer<CChar>?) throws -> Result) rethrows -> Result {
    guard let string else { return try body(nil) }
    return try string.withCString { try body($0) }
}

/// A failure to report as one line on stderr, with exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Throws a CommandFailure carrying fcs_last_error() unless the status is FCS_OK
/// (CommandInterrupted when fcs stopped because of Ctrl-C).
func check(_ status: fcs_status) throws {
    if status == FCS_CANCELLED && Interruption.isRequested { throw CommandInterrupted() }
    guard status == FCS_OK else { throw CommandFailure(String(cString: fcsLastError())) }
}

/// `--noise-path`, for the tasks that take one (layer extraction draws many samples).
struct NoiseOption: ParsableArguments {
    @Option(help: "A safetensors file with x_T and z_0 … z_{steps-1}: the sampler's noise instead of the seed's.")
    var noisePath: String?
}
