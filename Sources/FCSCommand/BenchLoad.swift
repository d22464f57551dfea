import ArgumentParser
import FCSModels
import FCSTensor
#if canImport(Glibc)
import Glibc
#endif

/// `fcs bench load`: what merging LoRAs costs when a model loads — an SD 1.5 checkpoint (random
/// weights) loaded without and with LoRA files merged, in seconds and peak memory.
struct BenchLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Time loading SD 1.5 without and with LoRAs merged, and its peak RSS.",
        discussion: """
            The default files — a random SD 1.5 single-file checkpoint (F16) and two LoRAs of SD 1.5's shapes \
            (rank 64 on every module LCM-LoRA trains) — are written by python3 tools/make_bench_loras.py /tmp/fcs-bench-lora.
            """
    )

    @Option(help: "Compute threads (default: FCS_NUM_THREADS or the number of cores).")
    var threads: Int?

    @Option(help: "Loads per row; the fastest is reported, with the highest peak RSS.")
    var repeats = 2

    @Option(help: "The model to load: a diffusers folder or single-file checkpoint.")
    var model = "/tmp/fcs-bench-lora/sd15.safetensors"

    @Option(name: .customLong("lora"), help: ArgumentHelp("A LoRA file to merge, with its scale; repeatable.", valueName: "file[:scale]"))
    var loras: [LoRAReference] = ["kohya", "peft"].map { LoRAReference(path: "/tmp/fcs-bench-lora/\($0).safetensors") }

    @Option(help: "How layers keep their weights: fp32, or fp16 widened per layer when used.")
    var weights: WeightStorageArgument = .fp32

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if repeats < 1 { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        if let threads { ComputeThreads.count = threads }
        print("fcs, \(ComputeThreads.count) threads, \(weights.rawValue) weights, \(model)")
        var options = StableDiffusion.LoadOptions()
        options.precision = weights.precision
        let plain = options
        options.loras = loras
        let names = loras.map { String($0.path.split(separator: "/").last ?? "") }.joined(separator: " + ")
        let rows = [
            ("model, no LoRA", try measure { _ = try StableDiffusion.load(model, options: plain) }),
            ("LoRA files read alone (\(loras.count))", try measure { for lora in loras { _ = try LoRA(path: lora.path) } }),
            ("model + \(names)", try measure { _ = try StableDiffusion.load(model, options: options) }),
        ]
        let width = rows.map(\.0.count).max()!
        print("\("load".padding(width)) | seconds | peak RSS GiB | RSS before")
        for (name, (seconds, peak, before)) in rows {
            print("\(name.padding(width)) | \(format(seconds, 2).leftPadding(7)) | \(format(peak, 2).leftPadding(12)) | \(format(before, 2).leftPadding(10))")
        }
        let (base, merged) = (rows[0].1, rows[2].1)
        print("merging \(loras.count) LoRA(s): +\(format(merged.0 - base.0, 2)) s, +\(format((merged.1 - merged.2) - (base.1 - base.2), 2)) GiB peak above the RSS before")
    }

    /// The fastest of `repeats` runs of `body`, the highest peak RSS while one ran, and the RSS
    /// before that run (what earlier rows left in the allocator; everything `body` makes is
    /// freed after each run).
    private func measure(_ body: () throws -> Void) throws -> (Double, Double, Double) {
        var (fastest, peak, before) = (Double.infinity, 0.0, 0.0)
        for _ in 0..<repeats {
            resetPeakResident()
            let resident = residentGiB(peak: false), start = ContinuousClock.now
            try body()
            let seconds = (ContinuousClock.now - start).seconds, high = residentGiB(peak: true)
            fastest = min(fastest, seconds)
            if high > peak { (peak, before) = (high, resident) }
        }
        return (fastest, peak, before)
    }
}

/// Sets the peak RSS (VmHWM) back to the current RSS (Linux's /proc/self/clear_refs, value 5).
private func resetPeakResident() {
    guard let file = fopen("/proc/self/clear_refs", "w") else { return }
    fputs("5", file)
    fclose(file)
}
