import ArgumentParser
import FCSImaging
import FCSModels
import FCSSampler
import FCSTensor
#if canImport(Glibc)
import Glibc
#endif

/// `fcs bench demo`: the demo model's forward at its trained 64² and what one sampler forward
/// costs at larger sizes, in overlapping tiles (what `--model demo` runs) and as one whole-image
/// forward (what a fully convolutional model could run instead).
struct BenchDemo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Time the demo model (--model demo): a 64x64 forward, and one sampler forward at larger sizes, tiled and whole.",
        discussion: """
            Each inpainting step runs 1 + 2 × newton-steps of these sampler forwards (11 at the defaults, 220 for 20 steps). \
            Columns: wall-clock ms (median of --repeats), the process's CPU ms over the same run (all threads: above \
            wall × threads means time waiting for cores another process holds), forwards per second, and GFLOP/s of the \
            network's convolutions, linear layers and attention. --profile adds where the 64x64 forward's time goes.
            """
    )

    @OptionGroup var options: BenchOptions

    @Option(parsing: .upToNextOption, help: "Image sides to time one sampler forward at (multiples of 64).")
    var size: [Int] = [128, 256, 512]

    @Flag(help: "Also show where the time goes: one more 64x64 forward, timed per kind of operation.")
    var profile = false

    @Option(help: "Tiles per network call (default: the library's).")
    var batch: Int?

    @Option(help: ArgumentHelp("A square RGB photo: also print the ε error, tiled and whole, on it noised to t = 900, 500, 200, 50 "
                               + "and resized to each --size (the model was trained on 64x64 crops).", valueName: "file"))
    var image: String?

    func validate() throws {
        if let batch, !(1...1024).contains(batch) { throw ValidationError("--batch must be 1 … 1024") }
        if size.contains(where: { !(64...1024).contains($0) || $0 % 64 != 0 }) {
            throw ValidationError("--size must be multiples of 64 from 64 to 1024")
        }
    }

    func run() throws {
        options.apply()
        let unet = try DemoModel.unet()
        let model = DiffusionModel(pixelSpace: unet)
        guard var tiled = model.denoiser as? TiledNoisePredictor else { throw CommandFailure("the demo model is not tiled") }
        if let batch { tiled = TiledNoisePredictor(unet, tile: tiled.tile, overlap: tiled.overlap, batch: batch) }
        print("fcs, \(ComputeThreads.count) threads, kernels \(kernelISA), demo model (UNet2DModel, \(unet.config.sampleSize)² tiles, "
              + "overlap \(tiled.overlap), \(tiled.batch) per call), fp32")
        let arena = ScratchArena()
        var random = NormalGenerator(seed: 1)
        print("forward                          |  wall ms |   CPU ms | forwards/s | GFLOP/s")
        func row(_ name: String, _ sample: Tensor, _ predictor: any NoisePredictor) {
            let forward = { arena.scope { _ = predictor.predictNoise(sample, timestep: 500, conditioning: nil, in: arena) } }
            let flops = OperationProfile.recording(forward).profile.totalFLOPs  // also the warm-up
            let (wall, cpu) = options.medianWallAndCPUSeconds(forward)
            print("\(name.padding(32)) | \(format(wall * 1e3, 1).leftPadding(8)) | \(format(cpu * 1e3, 1).leftPadding(8)) | "
                  + "\(format(1 / wall, 2).leftPadding(10)) | \(format(Double(flops) / wall / 1e9, 1).leftPadding(7))")
        }
        row("64x64, batch 1", random.tensor([1, 3, 64, 64]), unet)
        for side in size where side > 64 {
            let sample = random.tensor([1, 3, side, side], scale: 0.5)
            let tiles = tiled.origins(side).count * tiled.origins(side).count
            row("\(side)x\(side), \(tiles) tiles", sample, tiled)
            row("\(side)x\(side), whole image", sample, unet)
        }
        if let image { try printEpsilonErrors(photo: try ImageFile(image), unet: unet, tiled: tiled, arena: arena) }
        guard profile else { return }
        let sample = random.tensor([1, 3, 64, 64])
        let recorded = OperationProfile.recording { arena.scope { _ = unet.predictNoise(sample, timestep: 500, conditioning: nil, in: arena) } }
        print("")
        printProfiles([("demo UNet 64x64, batch 1", recorded.profile)])
    }

    /// The training loss, ‖ε_θ(x_t, t) − ε‖² / ‖ε‖², of the tiled and the whole-image forward
    /// on `photo` resized to each side: whether a forward larger than the training crops stays sane.
    func printEpsilonErrors(photo: ImageFile, unet: UNet2DModel, tiled: TiledNoisePredictor, arena: ScratchArena) throws {
        let (width, height, channels) = (Int(photo.width), Int(photo.height), Int(photo.channels))
        guard width == height, channels >= 3, let pixels = photo.image.data?.assumingMemoryBound(to: Float.self) else {
            throw CommandFailure("\(photo.path): --image needs a square RGB photo, not \(width)x\(height) with \(channels) bands")
        }
        var planes = [Float](repeating: 0, count: 3 * width * height)  // interleaved 0…1 → planar −1…1
        for i in 0..<width * height {
            for c in 0..<3 { planes[c * width * height + i] = 2 * pixels[i * channels + c] - 1 }
        }
        let original = Tensor(shape: [1, 3, height, width], values: planes)
        let alphasCumprod = NoiseSchedule().alphasCumprod
        print("\nε error ‖ε_θ(x_t, t) − ε‖² / ‖ε‖² on \(photo.path) (lower is better; the same x_t for both)")
        print(" size |   t | 64x64 tiles | whole image")
        var random = NormalGenerator(seed: 7)
        for side in size {
            let clean = side == width ? original : try BicubicResizer(scale: Double(side) / Double(width))(original)
            for t in [900, 500, 200, 50] {
                let noise = random.tensor(clean.shape), a = alphasCumprod[t]
                let noisy = Tensor(shape: clean.shape, values: zip(clean.toArray(), noise.toArray()).map {
                    a.squareRoot() * min(1, max(-1, $0)) + (1 - a).squareRoot() * $1
                })
                func error(_ predictor: any NoisePredictor) -> Double {
                    let predicted = arena.scope { predictor.predictNoise(noisy, timestep: Float(t), conditioning: nil, in: arena).toArray() }
                    let target = noise.toArray()
                    let squared = zip(predicted, target).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
                    return squared / target.reduce(0.0) { $0 + Double($1 * $1) }
                }
                print("\(String(side).leftPadding(5)) | \(String(t).leftPadding(3)) | \(format(error(tiled), 4).leftPadding(11)) | "
                      + format(error(unet), 4).leftPadding(11))
            }
        }
    }
}

extension OperationProfile {
    /// The multiply-adds × 2 of every GEMM kind recorded.
    var totalFLOPs: Int { Kind.allCases.reduce(0) { $0 + self[$1].flops } }
}

extension BenchOptions {
    /// Median wall-clock and process CPU seconds of `repeats` runs of `body`, after one warm-up
    /// run (the CPU time of the run whose wall time is the median).
    func medianWallAndCPUSeconds(_ body: () -> Void) -> (wall: Double, cpu: Double) {
        body()
        let clock = ContinuousClock()
        let times = (0..<repeats).map { _ in
            let cpu = processCPUSeconds()
            let wall = clock.measure(body).seconds
            return (wall, processCPUSeconds() - cpu)
        }.sorted { $0.0 < $1.0 }
        return times[times.count / 2]
    }
}

/// CPU seconds this process has used, all threads.
func processCPUSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
}
