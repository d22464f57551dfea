import ArgumentParser
import FCSModels
import FCSSampler
import FCSTensor

/// `fcs bench precision`: what bf16 compute does to the numbers the sampler rests on — the
/// UNet's ε, the finite-difference J·e of the inner steps, and a whole inpainting — against
/// fp32, on the same inputs. Prints figures and the gate for turning bf16 on by default.
struct BenchPrecision: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "precision",
        abstract: "Compare bf16 with fp32 compute: UNet ε, the sampler's finite-difference J·e, an inpainting.",
        discussion: """
            J·e = (x̂0(x + δe) − x̂0(x)) / δ with ‖δe‖∞ = h is a difference of two nearly equal forwards; \
            this prints the cosine between J·e computed in bf16 (at several h) and in fp32 (at the sampler's h), \
            at t = 900, 600, 300, 100, where x_t is a noised sample of the model and e an inpainting error.
            """
    )

    @OptionGroup var options: BenchOptions

    @Option(name: .customLong("model"), help: "Models to probe J·e on (repeatable): demo, a folder or a single file.")
    var models: [String] = [DemoModel.name]

    @Option(help: "Finite-difference sizes h to try in bf16 (fp32 uses the sampler's default).")
    var steps: [Float] = [0.005, 0.02, 0.05]

    @Flag(help: "Skip the full-size random SD 1.5 UNet (its ε error at 512², two forwards of a 3.4 GB network).")
    var skipFullSize = false

    func validate() throws {
        if models.isEmpty { throw ValidationError("--model needs at least one model") }
        if steps.isEmpty || steps.contains(where: { !($0 > 0 && $0 <= 1) }) { throw ValidationError("--steps must be in (0, 1]") }
    }

    func run() throws {
        options.apply()
        print("fcs, \(ComputeThreads.count) threads, kernels \(kernelISA), bf16 instructions: \(WeightPrecision.hasBFloat16Instructions ? "yes" : "no (portable loop)")")
        var gate: [(String, String, Bool)] = []
        if !skipFullSize {
            let error = try fullSizeEpsilonError()
            print("SD 1.5 UNet (random weights), 512², t = 500: ‖ε_bf16 − ε_fp32‖ / ‖ε_fp32‖ = \(format(Double(error), 4))")
            gate.append(("UNet ε within 2e-2 of fp32", format(Double(error), 4), error <= 2e-2))
        }
        let defaultStep = SamplerParameters().finiteDifferenceStep
        var worstCosine: Float = 1
        for reference in models {
            let fp32 = try DiffusionModel.load(reference, options: loadOptions(.float32))
            let bf16 = try DiffusionModel.load(reference, options: loadOptions(.bfloat16))
            let probe = try JacobianProbe(fp32: fp32, bf16: bf16, seed: 11)
            print("\nJ·e on \(reference) (latent \(probe.shape)), e = inpainting error on the left half")
            print("cosine with J·e in fp32 at h = \(defaultStep), for h = \(steps.map { format(Double($0), 3) }.joined(separator: ", "))")
            print("    t | bf16, plain forwards | bf16, difference tape (the sampler's) | fp32 (what h alone changes)")
            for t in [900, 600, 300, 100] {
                let row = probe.cosines(timestep: t, referenceStep: defaultStep, steps: steps)
                if let atDefault = steps.firstIndex(of: defaultStep) { worstCosine = min(worstCosine, row.bf16Tape[atDefault]) }
                print("\(String(t).leftPadding(5)) | " + [row.bf16, row.bf16Tape, row.fp32].map { cosines in
                    cosines.map { format(Double($0), 4) }.joined(separator: "  ")
                }.joined(separator: " | "))
            }
        }
        if steps.contains(defaultStep) {
            gate.append(("J·e cosine ≥ 0.99 at h = \(defaultStep) with the difference tape (worst t)", format(Double(worstCosine), 4), worstCosine >= 0.99))
        }
        print("\ngate for bf16 by default | figure | result")
        for (goal, figure, pass) in gate { print("\(goal) | \(figure) | \(pass ? "PASS" : "FAIL")") }
        print("(the third condition, inpainting PSNR within 0.1 dB of fp32, is measured by tools/quality_benchmark.py --precision)")
    }

    private func loadOptions(_ precision: ComputePrecision) -> StableDiffusion.LoadOptions {
        var options = StableDiffusion.LoadOptions()
        options.compute = precision
        return options
    }

    /// Relative ε error of the full-size SD 1.5 UNet (seeded random weights) at 512², and the
    /// forward's time in fp32, in bf16, and in bf16 recording and replaying a ``DifferenceTape``
    /// (the sampler's pair), with the tape's size.
    private func fullSizeEpsilonError() throws -> Float {
        var random = NormalGenerator(seed: 4)
        let sample = random.tensor([1, 4, 64, 64]), text = random.tensor([1, 77, 768])
        let perturbed = Tensor(shape: sample.shape, values: sample.toArray().map { $0 + 0.005 })
        let arena = ScratchArena()
        var outputs: [[Float]] = [], rows: [(String, Double)] = []
        for precision in [WeightPrecision.float32, .bfloat16] {
            let unet = try UNet2DConditionModel(config: UNet2DConditionModelConfig(), weights: .random(seed: 2).storing(precision))
            func forward(_ x: Tensor) -> [Float] { arena.scope { unet(x, timestep: 500, encoderHiddenStates: text, in: arena).toArray() } }
            outputs.append(forward(sample))
            let name = precision == .float32 ? "fp32" : "bf16"
            rows.append(("UNet forward 512x512, batch 1, \(name)", options.medianSeconds { _ = forward(sample) }))
            if precision == .bfloat16 {
                let tape = DifferenceTape()
                arena.differenceTape = tape
                defer { arena.differenceTape = nil }
                rows.append(("  recording a difference tape", options.medianSeconds {
                    tape.beginRecording()
                    _ = forward(sample)
                }))
                rows.append(("  replaying it (the perturbed forward)", options.medianSeconds {
                    tape.beginReplay()
                    _ = forward(perturbed)
                }))
                tape.beginRecording()
                let recorded = forward(sample)
                print("difference tape of one 512² forward, batch 1: \(format(Double(tape.bytes) / Double(1 << 30), 2)) GiB")
                print("a recording forward (bf16 outputs, fp32 attention): ‖ε − ε_fp32‖ / ‖ε_fp32‖ = "
                      + format(Double(relativeDistance(recorded, outputs[0])), 4))
            }
        }
        for (name, seconds) in rows { print("\(name.padding(40)) | \(format(seconds, 3).leftPadding(8)) s") }
        return relativeDistance(outputs[1], outputs[0])
    }
}

/// x_t, e and x̂0 for one model, and J·e by the sampler's forward difference in either precision.
private struct JacobianProbe {
    let fp32: DiffusionModel, bf16: DiffusionModel
    let shape: [Int]
    let schedule: NoiseSchedule
    /// What the probed model's denoiser predicts (its scheduler config's `prediction_type`).
    let predictionType: PredictionType
    let conditioning: (fp32: Conditioning?, bf16: Conditioning?)
    /// An on-distribution clean sample: 10 deterministic DDIM steps of the fp32 model from noise.
    let clean: [Float]
    let noise: [Float]
    let arena = ScratchArena()

    init(fp32: DiffusionModel, bf16: DiffusionModel, seed: UInt64) throws {
        (self.fp32, self.bf16) = (fp32, bf16)
        let side = 64 / fp32.codec.downsamplingFactor  // a 64² image (latent 8² for SD): cheap on any model
        shape = [1, fp32.codec.latentChannels, side, side]
        schedule = NoiseSchedule(fp32.schedulerConfig)
        predictionType = try PredictionType(fp32.schedulerConfig)
        let arena = self.arena
        func states(_ model: DiffusionModel) throws -> Conditioning? { try model.promptEncoder?.encode([""], in: arena)[0] }
        conditioning = (try states(fp32), try states(bf16))
        var random = NormalGenerator(seed: seed)
        noise = random.tensor(shape).toArray()
        var x = random.tensor(shape).toArray()
        let timesteps = stride(from: 999, through: 99, by: -100).map { $0 }
        var x0 = x
        for (index, t) in timesteps.enumerated() {
            x0 = Self.predictClean(fp32, x, timestep: t, shape: shape, conditioning: conditioning.fp32, schedule: schedule,
                                   predictionType: predictionType, arena: arena)
            let alpha = schedule.alphasCumprod[t], next = index + 1 < timesteps.count ? schedule.alphasCumprod[timesteps[index + 1]] : 1
            let epsilon = zip(x, x0).map { ($0 - alpha.squareRoot() * $1) / (1 - alpha).squareRoot() }
            x = zip(x0, epsilon).map { next.squareRoot() * $0 + (1 - next).squareRoot() * $1 }
        }
        clean = x0
    }

    /// x̂0 at x_t from the denoiser's output (ε or v, ``predictionType``), under `tape` (recording or replaying) if given.
    private func predictClean(_ model: DiffusionModel, _ x: [Float], timestep t: Int, conditioning: Conditioning?,
                              tape: DifferenceTape? = nil) -> [Float] {
        Self.predictClean(model, x, timestep: t, shape: shape, conditioning: conditioning, schedule: schedule,
                          predictionType: predictionType, arena: arena, tape: tape)
    }

    private static func predictClean(_ model: DiffusionModel, _ x: [Float], timestep t: Int, shape: [Int], conditioning: Conditioning?,
                                     schedule: NoiseSchedule, predictionType: PredictionType, arena: ScratchArena,
                                     tape: DifferenceTape? = nil) -> [Float] {
        arena.differenceTape = tape
        defer { arena.differenceTape = nil }
        let output = arena.scope {
            model.denoiser.predictNoise(Tensor(shape: shape, values: x), timestep: Float(t), conditioning: conditioning,
                                        guidanceWeight: nil, in: arena).toArray()
        }
        return predictionType.convert(sample: x, modelOutput: output, alphaCumprod: schedule.alphasCumprod[t]).x0
    }

    /// Cosines between J·e at each of `steps` — in bf16 as two plain forwards, in bf16 with the
    /// second forward replaying the first's ``DifferenceTape`` (what the sampler does), and in fp32
    /// (what h alone changes) — and J·e in fp32 at `referenceStep`.
    func cosines(timestep t: Int, referenceStep: Float, steps: [Float]) -> (bf16: [Float], bf16Tape: [Float], fp32: [Float]) {
        let alpha = schedule.alphasCumprod[t]
        let x = zip(clean, noise).map { alpha.squareRoot() * $0 + (1 - alpha).squareRoot() * $1 }
        let base32 = predictClean(fp32, x, timestep: t, conditioning: conditioning.fp32)
        let width = shape[3]
        let e = base32.indices.map { $0 % width < width / 2 ? clean[$0] - base32[$0] : 0 }
        func jacobianTimesE(_ model: DiffusionModel, _ states: Conditioning?, base: [Float], step: Float, tape: DifferenceTape? = nil) -> [Float] {
            let delta = step / (e.map(abs).max() ?? 1)
            tape?.beginReplay()
            let perturbed = predictClean(model, zip(x, e).map { $0 + delta * $1 }, timestep: t, conditioning: states, tape: tape)
            return zip(perturbed, base).map { ($0 - $1) / delta }
        }
        let reference = jacobianTimesE(fp32, conditioning.fp32, base: base32, step: referenceStep)
        let base16 = predictClean(bf16, x, timestep: t, conditioning: conditioning.bf16)
        let bf16Cosines = steps.map { cosine(jacobianTimesE(bf16, conditioning.bf16, base: base16, step: $0), reference) }
        let tape = DifferenceTape()
        tape.beginRecording()
        let recorded = predictClean(bf16, x, timestep: t, conditioning: conditioning.bf16, tape: tape)
        let tapeCosines = steps.map { cosine(jacobianTimesE(bf16, conditioning.bf16, base: recorded, step: $0, tape: tape), reference) }
        let fp32Cosines = steps.map { cosine(jacobianTimesE(fp32, conditioning.fp32, base: base32, step: $0), reference) }
        return (bf16Cosines, tapeCosines, fp32Cosines)
    }
}

private func cosine(_ a: [Float], _ b: [Float]) -> Float {
    var dot: Double = 0, aa: Double = 0, bb: Double = 0
    for (x, y) in zip(a, b) {
        dot += Double(x) * Double(y)
        aa += Double(x) * Double(x)
        bb += Double(y) * Double(y)
    }
    return Float(dot / max((aa * bb).squareRoot(), .leastNormalMagnitude))
}

/// ‖a − b‖ / ‖b‖.
private func relativeDistance(_ a: [Float], _ b: [Float]) -> Float {
    var difference: Double = 0, norm: Double = 0
    for (x, y) in zip(a, b) {
        difference += Double(x - y) * Double(x - y)
        norm += Double(y) * Double(y)
    }
    return Float((difference / max(norm, .leastNormalMagnitude)).squareRoot())
}
