import ArgumentParser
import CFCS
import FCS
import FCSModels
#if canImport(Glibc)
import Glibc
#endif

/// The options every sampling subcommand shares, and what they turn into.
struct SamplingOptions: ParsableArguments {
    @Option(help: "A diffusers folder, a single-file .safetensors checkpoint, or a hub model name (default: \(defaultModel), see `fcs fetch`).")
    var model: String?

    @Option(name: .customLong("transport-vae"),
            help: "superres: a diffusers AutoencoderTiny (TAESD) folder or hub name, e.g. madebyollin/taesd, for the inner loop's VAE passes; the final decode stays the model's VAE (default: the model's VAE throughout).")
    var transportVAE: String?

    @Option(help: "Random seed (default: a new one, printed).")
    var seed: UInt64?

    @Option(help: "Denoising steps (default: 20; 10 for layers).")
    var steps: Int32?

    @Option(help: "Outer sampler: paper (the paper's DDIM-like step), dpm++2m (DPM-Solver++(2M): about 10 steps) or lcm (LCM checkpoints: 4–8 steps).")
    var sampler = "paper"

    @Option(help: "Inner correction steps K per denoising step (default: 5 inpaint, 10 superres, deblur, colorize).")
    var newtonSteps: Int32?

    @Option(help: "Learning rates λ of the inner steps, comma-separated (default: 0.5,0.4,0.3,0.2,0.1 inpaint; 0.5 superres, deblur, colorize, 0.05 with pixel-space models).")
    var learningRates: String?

    @Option(help: "Finite-difference step h of the Jacobian product.")
    var fdStep: Float = 0.005

    @Option(help: "Text prompt (default: none, as the paper).")
    var prompt = ""

    @Option(help: "Classifier-free guidance scale; on when > 1.")
    var guidance: Float = 0

    @Option(help: "A safetensors file with x_T and z_0 … z_{steps-1}: the sampler's noise instead of the seed's.")
    var noise: String?

    @Option(help: "Compute threads (default: FCS_NUM_THREADS or all cores).")
    var threads: Int32?

    @Option(help: "Weights in memory for fp32 compute: f32 (fastest) or f16 (less memory).")
    var weights: WeightType = .f32

    @Option(help: """
        Compute precision: auto (fcs's choice for this CPU: fp32 for now), fp32 (float32 products, weights as --weights), \
        or bf16 (bfloat16 products with float32 sums, bf16 weights: about twice as fast on CPUs with AVX512_BF16, \
        slower without; not the default until it passes the gate of `fcs bench precision`).
        """)
    var precision = "auto"

    @Option(name: .customLong("lora"), help: ArgumentHelp(
        "A LoRA .safetensors file (diffusers/PEFT or kohya, e.g. LCM-LoRA) merged into the model at load, with its scale (default 1); repeatable.",
        valueName: "file[:scale]"))
    var loras: [LoRAReference] = []

    @Flag(help: "Print a JSON summary on stdout instead of a sentence.")
    var json = false

    enum WeightType: String, ExpressibleByArgument { case f32, f16 }

    static let defaultModel = "stable-diffusion-v1-5/stable-diffusion-v1-5"

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let steps, !(1...1000).contains(steps) { throw ValidationError("--steps must be 1 … 1000") }
        _ = try rates()
        _ = try outerSampler()
        _ = try computePrecision()
    }

    /// --sampler as fcs_sampler, read by fcs's own names.
    func outerSampler() throws -> fcs_sampler {
        var value = FCS_SAMPLER_PAPER
        guard sampler.withCString({ fcsSamplerFromName($0, &value) }) == FCS_OK else {
            throw ValidationError("--sampler: " + String(cString: fcsLastError()))
        }
        return value
    }

    /// --precision as fcs_precision, read by fcs's own names.
    func computePrecision() throws -> fcs_precision {
        var value = FCS_PRECISION_AUTO
        guard precision.withCString({ fcsPrecisionFromName($0, &value) }) == FCS_OK else {
            throw ValidationError("--precision: " + String(cString: fcsLastError()))
        }
        return value
    }

    func rates() throws -> [Float]? {
        guard let learningRates else { return nil }
        let parts = learningRates.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Float($0.filter { $0 != " " }) }.filter(\.isFinite)
        guard !parts.isEmpty, values.count == parts.count else {
            throw ValidationError("--learning-rates must be numbers separated by commas, e.g. 0.5,0.3,0.1")
        }
        return values
    }

    /// Loads the model named by --model (or the default) through the C ABI.
    func loadModel() throws -> OpaquePointer {
        if let threads { _ = fcsSetNumThreads(threads) }
        var params = fcsModelParamsDefault()
        params.weight_type = weights == .f16 ? FCS_WEIGHTS_F16 : FCS_WEIGHTS_F32
        params.precision = try computePrecision()
        var handle: OpaquePointer?
        let reference = model ?? Self.defaultModel
        if model == nil, (try? ModelLocation.resolve(reference)) == nil {
            standardError("\(reference) is not in the Hugging Face cache yet: downloading it (once)\n")
            _ = try fetch(reference)
        }
        let paths = loras.map { strdup($0.path) }, scales = loras.map(\.scale)
        defer { paths.forEach { free($0) } }
        let status = withOptionalCString(transportVAE) { transport in
            params.transport_vae = transport
            return paths.map { UnsafePointer($0) }.withUnsafeBufferPointer { pathBuffer in
                scales.withUnsafeBufferPointer { scaleBuffer in
                    (params.lora_paths, params.lora_scales, params.n_loras) = (pathBuffer.baseAddress, scaleBuffer.baseAddress, Int32(loras.count))
                    return reference.withCString { fcsModelLoad($0, &params, &handle) }
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
    func run(task: String, label: String? = nil, defaultSteps: Int32 = 20, outputs: OutputFiles,
             _ body: (OpaquePointer, inout fcs_sample_params) throws -> Void) throws {
        let model = try loadModel()
        defer { fcsModelFree(model) }
        let seed = self.seed ?? UInt64.random(in: 0...UInt64.max)
        let progress = ProgressReporter(label: label ?? task, quiet: json)
        do {
            try Interruption.catching {
                try withParams(defaultSteps: defaultSteps, seed: seed, progress: progress) { try body(model, &$0) }
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
    private func withParams<Result>(defaultSteps: Int32, seed: UInt64, progress: ProgressReporter,
                            _ body: (inout fcs_sample_params) throws -> Result) throws -> Result {
        var params = fcsSampleParamsDefault()
        params.seed = seed
        params.steps = steps ?? defaultSteps
        params.newton_steps = newtonSteps ?? -1
        params.fd_step = fdStep
        params.guidance_scale = guidance
        params.sampler = try outerSampler()
        let rates = try self.rates() ?? []
        return try rates.withUnsafeBufferPointer { rateBuffer in
            try prompt.withCString { promptPointer in
                try withOptionalCString(noise) { noisePointer in
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

/// `--lora FILE[:SCALE]`: the text after the last `:` is the scale when it is a number, so a
/// path with colons still works.
extension LoRAReference: ExpressibleByArgument {
    public init?(argument: String) {
        if let colon = argument.lastIndex(of: ":"), let scale = Float(argument[argument.index(after: colon)...]) {
            guard scale.isFinite, colon > argument.startIndex else { return nil }
            self.init(path: String(argument[..<colon]), scale: scale)
        } else {
            guard !argument.isEmpty else { return nil }
            self.init(path: argument)
        }
    }
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
