import ArgumentParser
import FCSModels
import FCSTensor
#if canImport(Glibc)
import Glibc
#endif

/// `fcs bench models`: full-size SD 1.5 networks with seeded random weights made in memory.
struct BenchModels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Time SD 1.5's text encoder, UNet and VAE, and TAESD, at full size (random weights, no file needed).",
        discussion: """
            tools/bench_models_torch.py prints the same rows for diffusers on PyTorch CPU (fp32, and bf16 where the CPU has \
            AVX512_BF16); with --json FILE it writes them for --peer FILE, which prints them next to fcs's with the ratios \
            and issue 13's goals. `make bench-models` runs both, one right after the other.
            """
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "Latent sizes to time the UNet at (latent = image / 8).")
    var latentSizes: [Int] = [64, 32]

    @Option(help: "How layers keep their weights: fp32; fp16 (widened to fp32 inside the GEMM); bf16 (bf16 products, fp32 sums).")
    var weights: WeightStorageArgument = .fp32

    @Option(help: ArgumentHelp("PyTorch's figures from `tools/bench_models_torch.py --json FILE`, to print next to fcs's with the goals.",
                               valueName: "file"))
    var peer: String?

    @Flag(help: "Also show where the time goes: one more UNet forward per latent size (batch 1), VAE decode 512x512 and TAESD encode and decode 512x512, timed per kind of operation; with bf16 layers also the UNet forwards that record and replay the sampler's difference tape.")
    var profile = false

    @Option(help: "The Winograd variant of the layers that choose theirs (auto: F(4x4) for fp32 weights, else F(2x2); f2; f4), to time both.")
    var winograd: WinogradArgument = .auto

    enum WinogradArgument: String, ExpressibleByArgument {
        case auto, f2, f4
        var algorithm: Conv2d.Algorithm? { self == .auto ? nil : self == .f2 ? .winograd : .winograd4x4 }
    }

    @Option(help: "Compute precision, as `fcs inpaint --precision`: auto (bf16 where the CPU has AVX512_BF16, else fp32), fp32 (weights as --weights) or bf16 (bf16 products, fp32 sums, whatever --weights says).")
    var precision: ComputePrecision = .automatic

    func validate() throws {
        // the UNet halves the latent three times; 128 is a 1024² image
        if latentSizes.isEmpty || latentSizes.contains(where: { !(8...128).contains($0) || $0 % 8 != 0 }) {
            throw ValidationError("--latent-sizes must be multiples of 8 from 8 to 128")
        }
    }

    func run() throws {
        options.apply()
        Conv2d.automaticWinogradOverride = winograd.algorithm
        let comparison = try peer.map { try PeerComparison(peer: PeerFigures.load($0), source: $0) }  // before minutes of timing
        let clock = ContinuousClock()
        let layers = precision.layerPrecision(weights: weights.precision)
        let taesdLayers = AutoencoderTiny.computePrecision(precision).layerPrecision(weights: weights.precision)  // as the loader builds TAESD
        print("fcs, \(ComputeThreads.count) threads, kernels \(kernelISA) (GEMM \(gemmKernels)), Winograd \(winograd.rawValue), \(weights.rawValue) weights, precision \(precision.rawValue)"
              + " (layers \(WeightStorageArgument(layers).rawValue), TAESD \(WeightStorageArgument(taesdLayers).rawValue)), random (seeded)")
        let start = clock.now
        let textEncoder = try CLIPTextModel(config: CLIPTextConfig(), weights: .random(seed: 1).storing(layers))
        let unet = try UNet2DConditionModel(config: UNet2DConditionModelConfig(), weights: .random(seed: 2).storing(layers))
        let vae = try AutoencoderKL(config: AutoencoderKLConfig(), weights: .random(seed: 3).storing(layers))
        let taesd = try AutoencoderTiny(config: AutoencoderTinyConfig(), weights: .random(seed: 5).storing(taesdLayers))
        let buildSeconds = (clock.now - start).seconds
        print("build (random weights, packing): \(format(buildSeconds, 1)) s, RSS \(format(residentGiB(peak: false), 2)) GiB")

        let arena = ScratchArena()
        let ids: [[Int32]] = [[49406] + [Int32](repeating: 320, count: 75) + [49407]]
        var rows: [(name: String, seconds: Double)] = []
        rows.append((ModelRow.textEncoder, options.medianSeconds { arena.scope { _ = try? textEncoder(ids, in: arena) } }))
        var random = NormalGenerator(seed: 4)
        for size in latentSizes {
            for batch in [1, 2] {
                let sample = random.tensor([batch, 4, size, size]), text = random.tensor([batch, 77, 768])
                let seconds = options.medianSeconds {
                    arena.scope { _ = unet(sample, timestep: 500, encoderHiddenStates: text, in: arena) }
                }
                rows.append((ModelRow.unet(side: size * 8, batch: batch), seconds))
            }
        }
        let image = random.tensor([1, 3, 512, 512]), latents = random.tensor([1, 4, 64, 64])
        rows.append((ModelRow.vaeEncode, options.medianSeconds { arena.scope { _ = vae.encode(image, in: arena) } }))
        rows.append((ModelRow.vaeDecode, options.medianSeconds { arena.scope { _ = vae.decode(latents, in: arena) } }))
        rows.append((ModelRow.taesdEncode, options.medianSeconds { arena.scope { _ = taesd.encode(image, in: arena) } }))
        rows.append((ModelRow.taesdDecode, options.medianSeconds { arena.scope { _ = taesd.decode(latents, in: arena) } }))
        if let comparison {
            comparison.table(fcs: rows, threads: ComputeThreads.count).forEach { print($0) }
        } else {
            let width = rows.map(\.name.count).max() ?? 0
            print("\("network".padding(width)) |  seconds")
            for (name, seconds) in rows { print("\(name.padding(width)) | \(format(seconds, 3).leftPadding(8))") }
        }
        print("peak RSS: \(format(residentGiB(peak: true), 2)) GiB (text encoder + UNet + VAE + TAESD; activation arena \(format(Double(arena.reservedBytes) / Double(1 << 30), 2)) GiB)")
        comparison?.goals(fcs: rows, kernels: gemmKernels).forEach { print($0) }

        guard profile else { return }
        // after the timed rows: every network is warm and the arena holds its largest working set
        var profiles: [(network: String, profile: OperationProfile)] = []
        for size in latentSizes {
            let sample = random.tensor([1, 4, size, size]), text = random.tensor([1, 77, 768])
            func forward() { arena.scope { _ = unet(sample, timestep: 500, encoderHiddenStates: text, in: arena) } }
            profiles.append(("UNet \(size * 8)x\(size * 8), batch 1", OperationProfile.recording(forward).profile))
            guard layers == .bfloat16 else { continue }
            // the sampler's two forwards of each J·e: the base records a difference tape, the perturbed one replays it
            let tape = DifferenceTape()
            arena.differenceTape = tape
            defer { arena.differenceTape = nil }
            tape.beginRecording()
            forward()  // the first recording allocates the tape's buffers; the sampler's reuse them
            tape.beginRecording()
            profiles.append(("UNet \(size * 8)x\(size * 8), recording a tape", OperationProfile.recording(forward).profile))
            tape.beginReplay()
            profiles.append(("UNet \(size * 8)x\(size * 8), replaying it", OperationProfile.recording(forward).profile))
        }
        profiles.append(("VAE decode 512x512", OperationProfile.recording { arena.scope { _ = vae.decode(latents, in: arena) } }.profile))
        profiles.append(("TAESD encode 512x512", OperationProfile.recording { arena.scope { _ = taesd.encode(image, in: arena) } }.profile))
        profiles.append(("TAESD decode 512x512", OperationProfile.recording { arena.scope { _ = taesd.decode(latents, in: arena) } }.profile))
        print("")
        printProfiles(profiles)
    }
}

/// The row names `fcs bench models` and tools/bench_models_torch.py share (--peer matches them).
enum ModelRow {
    static let textEncoder = "text encoder, 77 tokens"
    static let vaeEncode = "VAE encode 512x512", vaeDecode = "VAE decode 512x512"
    static let taesdEncode = "TAESD encode 512x512", taesdDecode = "TAESD decode 512x512"

    /// A UNet forward on a `side`² image (latent side / 8).
    static func unet(side: Int, batch: Int) -> String { "UNet forward \(side)x\(side), batch \(batch)" }
}

enum WeightStorageArgument: String, ExpressibleByArgument, CaseIterable {
    case fp32, fp16, bf16

    var precision: WeightPrecision {
        switch self {
        case .fp32: .float32
        case .fp16: .float16
        case .bf16: .bfloat16
        }
    }

    /// The argument that names `precision`.
    init(_ precision: WeightPrecision) {
        switch precision {
        case .float32: self = .fp32
        case .float16: self = .fp16
        case .bfloat16: self = .bf16
        }
    }
}

extension ComputePrecision: ExpressibleByArgument {}

/// Starts a new peak for ``residentGiB(peak:)`` (Linux: "5" in /proc/self/clear_refs resets VmHWM to VmRSS).
func resetPeakResident() {
    guard let file = fopen("/proc/self/clear_refs", "w") else { return }
    fputs("5", file)
    fclose(file)
}

/// Resident memory of this process from /proc/self/status: current (VmRSS) or peak (VmHWM), GiB.
func residentGiB(peak: Bool) -> Double {
    guard let file = fopen("/proc/self/status", "r") else { return .nan }
    defer { fclose(file) }
    let field = peak ? "VmHWM:" : "VmRSS:"
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix(field), let kB = Double(text.dropFirst(field.count).filter { $0.isNumber }) {
            return kB / Double(1 << 20)
        }
    }
    return .nan
}
