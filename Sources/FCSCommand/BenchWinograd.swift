import ArgumentParser
import FCSModels
import FCSTensor
#if canImport(Glibc)
import Glibc
#endif

/// `fcs bench winograd`: F(2×2, 3×3) against F(4×4, 3×3) on the 3×3 layers of SD 1.5's UNet and
/// VAE decoder that run Winograd, in time and in error against a float64 direct convolution.
struct BenchWinograd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "winograd",
        abstract: "Time Winograd F(2x2) and F(4x4) on SD 1.5's 3x3 layer shapes, and measure their error against float64.",
        discussion: """
            Inputs are SiLU(normal) (what follows a GroupNorm + SiLU), weights uniform in ±1/√(9·in) (PyTorch's Conv2d \
            initialisation), no bias. Error: the largest |y − y₆₄| over 4096 sampled outputs, over the largest |y₆₄|; \
            the conv fixtures allow 1e-5.
            """
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "How the layers keep their weights (as `fcs bench models --weights`).")
    var weights: WeightStorageArgument = .fp32

    @Option(help: "Which shapes: unet, vae or all.")
    var shapes: ShapeSet = .all

    enum ShapeSet: String, ExpressibleByArgument { case unet, vae, all }

    @Flag(help: "Instead: time a UNet forward 512x512 (batch 1) and a VAE decode 512x512 (random SD 1.5 weights) with F(2x2) everywhere and with fcs's choice, alternately, --repeats rounds (wall and CPU seconds: the least of the rounds, the one a shared machine disturbed least).")
    var networks = false

    /// A 3×3 padding-1 layer: `size`² outputs, `inChannels` → `outChannels`, and how many a forward runs.
    struct Shape {
        let network: String, size: Int, inChannels: Int, outChannels: Int, count: Int
    }

    /// SD 1.5's Winograd layers (UNet: from 32² up, as UNet2DConditionModel chooses; VAE
    /// decoder: above the latent size, as AutoencoderKL chooses), with how often each occurs.
    static let unetShapes = [
        Shape(network: "UNet", size: 64, inChannels: 320, outChannels: 320, count: 7),
        Shape(network: "UNet", size: 64, inChannels: 640, outChannels: 320, count: 2),
        Shape(network: "UNet", size: 64, inChannels: 960, outChannels: 320, count: 1),
        Shape(network: "UNet", size: 64, inChannels: 640, outChannels: 640, count: 1),
        Shape(network: "UNet", size: 32, inChannels: 320, outChannels: 640, count: 1),
        Shape(network: "UNet", size: 32, inChannels: 640, outChannels: 640, count: 6),
        Shape(network: "UNet", size: 32, inChannels: 1280, outChannels: 640, count: 1),
        Shape(network: "UNet", size: 32, inChannels: 1920, outChannels: 640, count: 1),
        Shape(network: "UNet", size: 32, inChannels: 960, outChannels: 640, count: 1),
        Shape(network: "UNet", size: 32, inChannels: 1280, outChannels: 1280, count: 1),
    ]
    static let vaeShapes = [
        Shape(network: "VAE decode", size: 128, inChannels: 512, outChannels: 512, count: 7),
        Shape(network: "VAE decode", size: 256, inChannels: 512, outChannels: 512, count: 1),
        Shape(network: "VAE decode", size: 256, inChannels: 512, outChannels: 256, count: 1),
        Shape(network: "VAE decode", size: 256, inChannels: 256, outChannels: 256, count: 5),
        Shape(network: "VAE decode", size: 512, inChannels: 256, outChannels: 256, count: 1),
        Shape(network: "VAE decode", size: 512, inChannels: 256, outChannels: 128, count: 1),
        Shape(network: "VAE decode", size: 512, inChannels: 128, outChannels: 128, count: 5),
    ]

    func run() throws {
        options.apply()
        print("fcs, \(ComputeThreads.count) threads, GEMM kernels \(gemmKernels), \(weights.rawValue) weights")
        if networks { return try timeNetworks() }
        let selected = shapes == .unet ? Self.unetShapes : shapes == .vae ? Self.vaeShapes : Self.unetShapes + Self.vaeShapes
        let arena = ScratchArena()
        var random = NormalGenerator(seed: 0)
        print("layer (count per forward)          |  F(2x2) ms | F(4x4) ms | F4/F2 | F(2x2) error | F(4x4) error")
        var totals: [String: (f2: Double, f4: Double)] = [:]
        for shape in selected {
            let (c, o, size) = (shape.inChannels, shape.outChannels, shape.size)
            let bound = 1 / Double(9 * c).squareRoot()
            let weight = Tensor(zeros: [o, c, 3, 3])
            for i in 0..<weight.count { weight.data[i] = Float((Double(random.nextWord() >> 11) * 0x1p-53 * 2 - 1) * bound) }
            let x = random.tensor([1, c, size, size])
            for i in 0..<x.count { x.data[i] = x.data[i] / (1 + exp(-x.data[i])) }
            let samples = (0..<4096).map { _ in
                (Int(random.nextWord() % UInt64(o)), Int(random.nextWord() % UInt64(size)), Int(random.nextWord() % UInt64(size)))
            }
            let reference = samples.map { Self.direct(weight, x, $0) }
            let scale = reference.map(abs).max() ?? 1
            var seconds: [Double] = [], errors: [Double] = []
            for algorithm in [Conv2d.Algorithm.winograd, .winograd4x4] {
                let conv = Conv2d(weight: weight, bias: nil, padding: 1, algorithm: algorithm, precision: weights.precision)
                var worst = 0.0
                arena.scope {
                    let y = conv(x, in: arena)
                    for (sample, expected) in zip(samples, reference) {
                        let (oc, row, column) = sample
                        worst = max(worst, abs(Double(y.data[(oc * size + row) * size + column]) - expected))
                    }
                }
                errors.append(worst / scale)
                seconds.append(options.medianSeconds { arena.scope { _ = conv(x, in: arena) } })
            }
            let name = "\(shape.network) \(size)x\(size)x\(c)->\(o) (\(shape.count))"
            print("\(name.padding(34)) | \(format(seconds[0] * 1e3, 1).leftPadding(10)) | \(format(seconds[1] * 1e3, 1).leftPadding(9)) | "
                  + "\(format(seconds[1] / seconds[0], 2).leftPadding(5)) | \(scientific(errors[0]).leftPadding(12)) | \(scientific(errors[1]).leftPadding(12))")
            let total = totals[shape.network] ?? (0, 0)
            totals[shape.network] = (total.f2 + Double(shape.count) * seconds[0], total.f4 + Double(shape.count) * seconds[1])
        }
        for (network, total) in totals.sorted(by: { $0.key > $1.key }) {
            print("\(network): these layers once per forward, F(2x2) \(format(total.f2, 2)) s, F(4x4) \(format(total.f4, 2)) s (\(format(total.f4 / total.f2, 2))x)")
        }
    }

    /// The networks built once per variant, then timed in turns, so that a shared machine's load
    /// falls on both alike; CPU seconds (getrusage) are less sensitive to it than wall seconds.
    func timeNetworks() throws {
        var variants: [(name: String, unet: UNet2DConditionModel, vae: AutoencoderKL)] = []
        for (name, override) in [("F(2x2) everywhere", Conv2d.Algorithm.winograd), ("fcs's choice", nil)] {
            Conv2d.automaticWinogradOverride = override
            variants.append((name, try UNet2DConditionModel(config: UNet2DConditionModelConfig(), weights: .random(seed: 2).storing(weights.precision)),
                             try AutoencoderKL(config: AutoencoderKLConfig(), weights: .random(seed: 3).storing(weights.precision))))
        }
        Conv2d.automaticWinogradOverride = nil
        var random = NormalGenerator(seed: 4)
        let sample = random.tensor([1, 4, 64, 64]), text = random.tensor([1, 77, 768]), latents = random.tensor([1, 4, 64, 64])
        let arena = ScratchArena()
        let rows: [(String, (Int) -> Void)] = [
            ("UNet forward 512x512, batch 1", { v in arena.scope { _ = variants[v].unet(sample, timestep: 500, encoderHiddenStates: text, in: arena) } }),
            ("VAE decode 512x512", { v in arena.scope { _ = variants[v].vae.decode(latents, in: arena) } }),
        ]
        print("network                       | variant           | wall s (least) | CPU s (least) | rounds (wall)")
        for (name, body) in rows {
            var wall = [[Double]](repeating: [], count: variants.count), cpu = wall
            for round in 0...options.repeats {  // round 0 warms up
                for v in variants.indices {
                    let start = ContinuousClock.now, cpuStart = processCPUSeconds()
                    body(v)
                    if round > 0 {
                        wall[v].append((ContinuousClock.now - start).seconds)
                        cpu[v].append(processCPUSeconds() - cpuStart)
                    }
                }
            }
            for v in variants.indices {
                print("\(name.padding(29)) | \(variants[v].name.padding(17)) | \(format(wall[v].min() ?? 0, 2).leftPadding(14)) | "
                      + "\(format(cpu[v].min() ?? 0, 2).leftPadding(13)) | \(wall[v].map { format($0, 2) }.joined(separator: " "))")
            }
        }
    }

    /// User + system CPU seconds of this process so far.
    func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let seconds = { (t: timeval) in Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Output `sample` (channel, row, column) of the padding-1 convolution, summed in float64.
    static func direct(_ weight: Tensor, _ x: Tensor, _ sample: (Int, Int, Int)) -> Double {
        let (o, row, column) = sample
        let (channels, size) = (x.shape[1], x.shape[2])
        var sum = 0.0
        for c in 0..<channels {
            for ky in 0..<3 {
                let y = row + ky - 1
                guard (0..<size).contains(y) else { continue }
                for kx in 0..<3 {
                    let xx = column + kx - 1
                    guard (0..<size).contains(xx) else { continue }
                    sum += Double(weight.data[((o * channels + c) * 3 + ky) * 3 + kx]) * Double(x.data[(c * size + y) * size + xx])
                }
            }
        }
        return sum
    }
}

/// `value` as "1.23e-06".
func scientific(_ value: Double) -> String {
    guard value > 0, value.isFinite else { return value == 0 ? "0" : "\(value)" }
    var exponent = Int(log10(value).rounded(.down)), mantissa = value / pow(10, Double(exponent))
    if mantissa >= 9.995 { (mantissa, exponent) = (mantissa / 10, exponent + 1) }
    return "\(format(mantissa, 2))e\(exponent < 0 ? "-" : "+")\(abs(exponent) < 10 ? "0" : "")\(abs(exponent))"
}
