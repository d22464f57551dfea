import ArgumentParser
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
            super-resolution rows (there is no PyTorch reference of layer extraction: its cost is that of its inpaintings).
            """
    )

    enum Task: String, ExpressibleByArgument, CaseIterable { case inpaint, superres, layers }

    @Option(help: "Compute threads (default: FCS_NUM_THREADS or the number of cores).")
    var threads: Int?

    @Option(parsing: .upToNextOption, help: "Tasks to time: \(Task.allCases.map(\.rawValue).joined(separator: ", ")).")
    var task: [Task] = [.inpaint]

    @Option(parsing: .upToNextOption, help: "Output image sides in pixels.")
    var size: [Int] = [256]

    @Option(help: "Outer steps (the default 20 is the paper's; layer extraction uses its own default, 10).")
    var steps = 20

    @Option(parsing: .upToNextOption, help: "Layer extraction: EM iterations, samples per layer, restarts (default: the library's 3, 3, 2).")
    var layerSettings: [Int] = []

    @Option(help: "A model folder, .safetensors file or hub name instead of random weights.")
    var model: String?

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
        let sd = try model.map { try StableDiffusion.load($0) } ?? StableDiffusion.random(seed: 1)
        print("fcs, \(ComputeThreads.count) threads, kernels \(kernelISA), \(model ?? "SD 1.5 shapes, random fp32 weights"), \(steps) steps")
        print("task                 |  size | UNet forwards | seconds/image")
        let clock = ContinuousClock()
        var random = NormalGenerator(seed: 5)
        for task in task {
            for side in size {
                let image = Tensor(shape: [1, 3, side, side], values: random.tensor([1, 3, side, side], scale: 0.5).toArray().map { min(1, max(-1, $0)) })
                var forwards = 0
                let seconds: Double
                switch task {
                case .inpaint:
                    var parameters = InpaintingParameters()
                    parameters.sampler.steps = steps
                    var fill = [Float](repeating: 0, count: side * side)
                    for i in fill.indices where i % side >= side / 2 { fill[i] = 1 }
                    forwards = steps * (1 + 2 * parameters.sampler.newtonSteps)
                    seconds = try clock.measure {
                        _ = try sd.inpaint(image: image, fillMask: Tensor(shape: [1, 1, side, side], values: fill), parameters: parameters)
                    }.seconds
                case .superres:
                    var parameters = SuperResolutionParameters()
                    parameters.sampler.steps = steps
                    let low = try BicubicResizer(scale: 0.25)(image)
                    forwards = steps * (1 + 2 * parameters.sampler.newtonSteps)
                    seconds = try clock.measure { _ = try sd.superResolve(image: low, factor: 4, parameters: parameters) }.seconds
                case .layers:
                    var parameters = LayerExtractionParameters()
                    if layerSettings.count == 3 {
                        (parameters.iterations, parameters.samplesPerLayer, parameters.restarts) = (layerSettings[0], layerSettings[1], layerSettings[2])
                    }
                    let inpaintings = parameters.restarts * parameters.iterations * 2 * parameters.samplesPerLayer
                    forwards = inpaintings * parameters.sampler.steps * (1 + 2 * parameters.sampler.newtonSteps)
                    seconds = try clock.measure { _ = try sd.extractLayers(image: image, parameters: parameters) }.seconds
                }
                let name = switch task { case .inpaint: "inpaint"; case .superres: "superres x4"; case .layers: "layers" }
                print("\(name.padding(20)) | \(String(side).leftPadding(5)) | \(String(forwards).leftPadding(13)) | \(format(seconds, 1).leftPadding(13))")
            }
        }
        print("peak RSS: \(format(residentGiB(peak: true), 2)) GiB")
    }
}
