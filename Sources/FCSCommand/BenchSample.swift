import ArgumentParser
import FCSImaging
import FCSModels
import FCSSampler
import FCSTensor

/// `fcs bench sample`: whole constrained-sampling runs at SD 1.5 size.
struct BenchSample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Time whole inpainting / super-resolution / layer-extraction runs (SD 1.5 shapes; random weights unless --model).",
        discussion: """
            tools/bench_sample_torch.py runs the spec-written reference sampler on diffusers for the inpainting and \
            super-resolution rows (there is no PyTorch reference of layer extraction: its cost is that of its inpaintings). \
            superres-taesd runs super-resolution's inner-loop VAE passes on TAESD (AutoencoderTiny; random weights of \
            madebyollin/taesd's shapes unless --transport-vae) and the final decode on the VAE. Every outer step costs the \
            same, so a run at reduced --steps extrapolates linearly. Peak RSS is per row (VmHWM, reset before each). \
            With --model and --weights fp16, a 512² inpainting row also prints the memory goal: the process's peak RSS, \
            load included (what /usr/bin/time -v reports for `fcs inpaint`), for an fp16 checkpoint such as the one \
            /work/venv-ref/bin/python tools/make_sd15_random_model.py /tmp/sd15-random-fp16 writes; `fcs bench memory` breaks it down.
            """
    )

    enum Task: String, ExpressibleByArgument, CaseIterable {
        case inpaint, superres, superresTAESD = "superres-taesd", layers
    }

    @Option(help: "Compute threads (default: FCS_NUM_THREADS or the number of cores).")
    var threads: Int?

    @Option(parsing: .upToNextOption, help: "Tasks to time: \(Task.allCases.map(\.rawValue).joined(separator: ", ")).")
    var task: [Task] = [.inpaint]

    @Option(parsing: .upToNextOption, help: "Output image sides in pixels.")
    var size: [Int] = [256]

    @Option(help: "Outer steps (the default 20 is the paper's; layer extraction uses its own default, 10).")
    var steps = 20

    @Option(help: "Outer sampler: paper, dpm++2m or lcm (random weights: an LCM-shaped UNet, time_cond_proj_dim 256).")
    var sampler = OuterSampler.paper

    @Option(parsing: .upToNextOption, help: "Layer extraction: EM iterations, samples per layer, restarts (default: the library's 3, 3, 2).")
    var layerSettings: [Int] = []

    @Option(help: "A model folder, .safetensors file or hub name instead of random weights.")
    var model: String?

    @Option(name: .customLong("transport-vae"), help: "superres-taesd: an AutoencoderTiny folder or hub name instead of random weights.")
    var transportVAE: String?

    @Option(help: "How layers keep their weights in fp32 compute: fp32, or fp16 widened per layer when used (bf16: bf16 compute).")
    var weights: WeightStorageArgument = .fp32

    @Option(help: "Compute precision, as `fcs inpaint --precision`: auto (bf16 where the CPU has AVX512_BF16, else fp32), fp32 or bf16.")
    var precision: ComputePrecision = .automatic

    @Flag(help: "Also show where each run's time goes, per kind of operation (as `fcs bench models --profile`).")
    var profile = false

    /// The issue's memory goal for a 512² inpainting with an fp16 checkpoint.
    static let peakGoalBytes = 3e9
    /// The time goals of a 512² run at the paper's 20 steps: issue 13's default inpainting, issue
    /// 15's ×4 super-resolution with TAESD transport.
    typealias TimeGoal = (name: String, minutes: Double)
    static let timeGoals: [Task: TimeGoal] = [
        .inpaint: ("inpainting 512², 20 steps", 6), .superresTAESD: ("super-resolution ×4 to 512², TAESD transport", 20),
    ]

    func validate() throws {
        try BenchOptions.validate(threads: threads)
        if size.isEmpty || size.contains(where: { !(64...2048).contains($0) || $0 % 64 != 0 }) {
            throw ValidationError("--size must be multiples of 64 from 64 to 2048")
        }
        if !(1...1000).contains(steps) { throw ValidationError("--steps must be 1 … 1000") }
        if !layerSettings.isEmpty, layerSettings.count != 3 || layerSettings.contains(where: { !(1...100).contains($0) }) {
            throw ValidationError("--layer-settings takes three numbers from 1 to 100: iterations, samples per layer, restarts")
        }
    }

    func run() throws {
        if let threads { ComputeThreads.count = threads }
        var unetConfig = UNet2DConditionModelConfig()
        if sampler == .lcm { unetConfig.timeCondProjDim = 256 }  // LCM-distilled SD 1.5 (LCM_Dreamshaper_v7's)
        var options = StableDiffusion.LoadOptions()
        (options.precision, options.compute) = (weights.precision, precision)
        let sd = try model.map { try StableDiffusion.load($0, options: options) }
            ?? StableDiffusion.random(seed: 1, precision: options.layerPrecision, unetConfig: unetConfig)
        let loadPeak = residentGiB(peak: true)  // before any reset: the whole process so far
        let taesd = task.contains(.superresTAESD)
            ? try transportVAE.map { try AutoencoderTiny.load($0) } ?? AutoencoderTiny(config: AutoencoderTinyConfig(), weights: .random(seed: 4))
            : nil
        let transported = try taesd.map { try sd.diffusionModel.transporting(with: $0, source: transportVAE ?? "TAESD") }
        let shapes = sampler == .lcm ? "SD 1.5 shapes with time_cond_proj_dim 256, random weights" : "SD 1.5 shapes, random weights"
        let layers = WeightStorageArgument(options.layerPrecision).rawValue
        print("fcs, \(ComputeThreads.count) threads, kernels \(kernelISA), \(model ?? shapes), \(weights.rawValue) weights, "
              + "precision \(precision.rawValue) (layers \(layers)), sampler \(sampler.rawValue), \(steps) steps; "
              + "load peak RSS \(format(loadPeak, 2)) GiB")
        print("task                 |  size | UNet forwards | VAE passes           | seconds/image | peak RSS GiB")
        var random = NormalGenerator(seed: 5)
        var goalPeak: Double?
        var timed: [(goal: TimeGoal, seconds: Double, perStep: Double?)] = []
        var profiles: [(network: String, profile: OperationProfile)] = []
        for task in task {
            for side in size {
                let image = Tensor(shape: [1, 3, side, side], values: random.tensor([1, 3, side, side], scale: 0.5).toArray().map { min(1, max(-1, $0)) })
                var forwards = 0, passes = "-"
                let sampling = SamplingClock(steps: steps)
                resetPeakResident()
                // the run's wall-clock time is its recording's
                let runProfile = try OperationProfile.recording { () throws in
                    switch task {
                    case .inpaint:
                        var parameters = InpaintingParameters()
                        (parameters.sampler.steps, parameters.sampler.outerSampler) = (steps, sampler)
                        var fill = [Float](repeating: 0, count: side * side)
                        for i in fill.indices where i % side >= side / 2 { fill[i] = 1 }
                        forwards = steps * (1 + 2 * parameters.sampler.newtonSteps)
                        passes = "1 enc + 1 dec"
                        _ = try sd.inpaint(image: image, fillMask: Tensor(shape: [1, 1, side, side], values: fill), parameters: parameters,
                                           progress: sampling.progress)
                    case .superres, .superresTAESD:
                        var parameters = SuperResolutionParameters()
                        (parameters.sampler.steps, parameters.sampler.outerSampler) = (steps, sampler)
                        let low = try BicubicResizer(scale: 0.25)(image)
                        forwards = steps * (1 + 2 * parameters.sampler.newtonSteps)
                        // per inner step: D(x̂0) and the transport's two encodes; then the final decode
                        let inner = 3 * steps * parameters.sampler.newtonSteps
                        let model = task == .superres ? sd.diffusionModel : transported ?? sd.diffusionModel
                        passes = task == .superres ? "\(inner + 1) VAE" : "\(inner) TAESD + 1 VAE"
                        _ = try model.superResolve(image: low, factor: 4, parameters: parameters, progress: sampling.progress)
                    case .layers:
                        var parameters = LayerExtractionParameters()
                        parameters.sampler.outerSampler = sampler
                        if layerSettings.count == 3 {
                            (parameters.iterations, parameters.samplesPerLayer, parameters.restarts) = (layerSettings[0], layerSettings[1], layerSettings[2])
                        }
                        let inpaintings = parameters.restarts * parameters.iterations * 2 * parameters.samplesPerLayer
                        forwards = inpaintings * parameters.sampler.steps * (1 + 2 * parameters.sampler.newtonSteps)
                        passes = "\(inpaintings) enc + \(inpaintings) dec"
                        _ = try sd.extractLayers(image: image, parameters: parameters)
                    }
                }.profile
                let seconds = runProfile.elapsedSeconds
                let name = switch task {
                case .inpaint: "inpaint"
                case .superres: "superres x4"
                case .superresTAESD: "superres x4 TAESD"
                case .layers: "layers"
                }
                if profile { profiles.append(("\(name) \(side)x\(side)", runProfile)) }
                let peak = residentGiB(peak: true)
                print("\(name.padding(20)) | \(String(side).leftPadding(5)) | \(String(forwards).leftPadding(13)) | \(passes.padding(20)) | "
                      + "\(format(seconds, 1).leftPadding(13)) | \(format(peak, 2).leftPadding(12))")
                if task == .inpaint, side == 512 { goalPeak = max(loadPeak, peak) }
                if side == 512, sampler == .paper, let goal = Self.timeGoals[task] { timed.append((goal, seconds, sampling.secondsPerStep)) }
            }
        }
        if !profiles.isEmpty {
            print("")
            printProfiles(profiles, of: "each timed run, whole")
        }
        for (goal, seconds, perStep) in timed {
            // fewer steps scale up to the paper's 20: per step, with what runs once (text and VAE
            // encoding, the final decode) apart when 2 steps or more tell the two apart
            let figure: String, minutes: Double
            if steps == 20 {
                minutes = seconds / 60
                figure = "\(format(minutes, 1)) min"
            } else if let perStep {
                let once = seconds - perStep * Double(steps)
                minutes = (once + 20 * perStep) / 60
                figure = "\(format(minutes, 1)) min (\(format(once, 1)) s once + 20 × \(format(perStep, 1)) s per step)"
            } else {
                minutes = seconds * 20 / Double(steps) / 60
                figure = "\(format(minutes, 1)) min (\(steps) steps × \(format(20 / Double(steps), 1)), once-only work included)"
            }
            print("goal: \(goal.name) ≤ \(Int(goal.minutes)) min | \(figure) | \(minutes <= goal.minutes ? "PASS" : "FAIL")")
        }
        if let goalPeak, model != nil, weights == .fp16 {
            let bytes = goalPeak * Double(1 << 30)
            let figure = "\(format(bytes / 1e9, 2)) GB (\(format(goalPeak, 2)) GiB)"
            print("goal                                       | target | \("figure".padding(figure.count)) | result")
            print("peak RSS, inpainting 512², fp16 checkpoint | ≤ 3 GB | \(figure) | \(bytes <= Self.peakGoalBytes ? "PASS" : "FAIL")")
        }
    }
}

extension OuterSampler: ExpressibleByArgument {}

/// The seconds one outer step takes, from a run's progress calls (every outer step does the same
/// work): between the first call that reports step 1 done (before step 2's first network
/// evaluation) and the first that reports all done (before the decode). Needs 2 steps or more.
private final class SamplingClock {
    let steps: Int
    private var afterFirst: ContinuousClock.Instant?, afterLast: ContinuousClock.Instant?
    init(steps: Int) { self.steps = steps }

    var progress: (Int, Int) -> Bool {
        { [self] done, _ in
            if done >= 1, afterFirst == nil { afterFirst = .now }
            if done >= steps, afterLast == nil { afterLast = .now }
            return true
        }
    }

    /// nil with fewer than 2 steps, or a run that reported no progress.
    var secondsPerStep: Double? {
        guard steps >= 2, let afterFirst, let afterLast else { return nil }
        return (afterLast - afterFirst).seconds / Double(steps - 1)
    }
}
