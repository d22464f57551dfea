import ArgumentParser
import FCSModels
import FCSTensor

/// `fcs bench memory`: where a loaded model's memory goes — the weights each network holds, by
/// kind of layer, and the activation arena's peak of each pass at one image size.
struct BenchMemory: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Break a model's memory down: weights per network and layer kind, the arena's peak per pass.",
        discussion: """
            The default model is a full-size SD 1.5 with random fp16 weights, written by \
            /work/venv-ref/bin/python tools/make_sd15_random_model.py /tmp/sd15-random-fp16. The whole inpainting's \
            peak RSS (load included) is the last column of `fcs bench sample --task inpaint --size 512 --model … --weights fp16`.
            """
    )

    @Option(help: "Compute threads (default: FCS_NUM_THREADS or the number of cores).")
    var threads: Int?

    @Option(help: "A model folder, .safetensors file or hub name.")
    var model = "/tmp/sd15-random-fp16"

    @Option(help: "How layers keep their weights: fp32, or fp16 widened per layer when used.")
    var weights: WeightStorageArgument = .fp16

    @Option(help: "Image side in pixels for the passes (latents are 1/8 of it).")
    var size = 512

    func validate() throws {
        try BenchOptions.validate(threads: threads)
        if !(64...2048).contains(size) || size % 64 != 0 { throw ValidationError("--size must be a multiple of 64 from 64 to 2048") }
    }

    func run() throws {
        if let threads { ComputeThreads.count = threads }
        var options = StableDiffusion.LoadOptions()
        options.precision = weights.precision
        let clock = ContinuousClock(), start = clock.now
        let sd = try StableDiffusion.load(model, options: options)
        print("fcs, \(ComputeThreads.count) threads, kernels \(kernelISA), \(weights.rawValue) weights, \(model)")
        print("load: \(format((clock.now - start).seconds, 1)) s, peak RSS \(format(residentGiB(peak: true), 2)) GiB, "
              + "RSS after it \(format(residentGiB(peak: false), 2)) GiB")

        let networks: [(String, HeldWeights)] = [("UNet", HeldWeights(sd.unet)), ("VAE (during its passes)", HeldWeights(try sd.vae.resident()))]
        print("\("weights held".padding(30)) |     MiB")
        for (name, held) in networks {
            print("\(name.padding(30)) | \(mebibytes(held.total).leftPadding(7))")
            for (kind, bytes) in held.bytes.sorted(by: { $0.key < $1.key }) {
                print("  \(kind.padding(28)) | \(mebibytes(bytes).leftPadding(7))")
            }
        }
        print("\("text encoder".padding(30)) |       0  (built for each new prompt; see its pass)")

        let latent = size / 8
        var random = NormalGenerator(seed: 4)
        let image = random.tensor([1, 3, size, size], scale: 0.5), latents = random.tensor([1, 4, latent, latent])
        let ids = [sd.tokenizer("a photograph of an astronaut riding a horse")], empty = [sd.tokenizer("")]
        // each pass as the sampling tasks run it (the VAE's throwing forms reserve their working set first)
        print("\("pass at \(size)x\(size)".padding(27)) | arena peak MiB | arena held MiB | RSS above the loaded model MiB | seconds")
        func pass(_ name: String, _ body: (ScratchArena) throws -> Void) rethrows {
            let arena = ScratchArena(), before = residentGiB(peak: false)
            resetPeakResident()
            let seconds = try clock.measure { try body(arena) }.seconds
            let above = (residentGiB(peak: true) - before) * 1024
            print("\(name.padding(27)) | \(mebibytes(arena.peakFloats * MemoryLayout<Float>.stride).leftPadding(14)) | "
                  + "\(mebibytes(arena.reservedBytes).leftPadding(14)) | \(format(above, 0).leftPadding(30)) | \(format(seconds, 1).leftPadding(7))")
        }
        try pass("text encoder, prompt and \"\"") { arena in _ = try sd.textEncoder.encode([ids, empty], in: arena) }
        try pass("VAE build and encode") { arena in _ = try sd.vae.withResident { (vae) throws(FCSError) in try vae.encode(image, in: arena, shouldContinue: { true }) } }
        for batch in [1, 2] {
            let sample = random.tensor([batch, 4, latent, latent]), text = random.tensor([batch, 77, 768])
            pass("UNet forward, batch \(batch)") { arena in _ = sd.unet(sample, timestep: 500, encoderHiddenStates: text, in: arena) }
        }
        try pass("VAE build and decode") { arena in _ = try sd.vae.withResident { (vae) throws(FCSError) in try vae.decode(latents, in: arena, shouldContinue: { true }) } }
    }

    private func mebibytes(_ bytes: Int) -> String { format(Double(bytes) / Double(1 << 20), 1) }
}
