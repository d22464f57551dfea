import ArgumentParser
import FCSModels
import FCSTensor
#if canImport(Glibc)
import Glibc
#endif

/// `fcs bench load`: what merging LoRAs costs when a model loads — SD 1.5's three networks built
/// from seeded random weights, without and with LoRA files merged, in seconds and peak memory.
struct BenchLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Time building SD 1.5 (random weights) without and with LoRAs merged, and its peak RSS.",
        discussion: """
            LoRA files of SD 1.5's shapes (rank 64 on every module LCM-LoRA trains): \
            python3 tools/make_bench_loras.py /tmp/fcs-bench-lora, the default --lora files.
            """
    )

    @Option(help: "Compute threads (default: FCS_NUM_THREADS or the number of cores).")
    var threads: Int?

    @Option(name: .customLong("lora"), help: ArgumentHelp("A LoRA file to merge, with its scale; repeatable.", valueName: "file[:scale]"))
    var loras: [LoRAReference] = ["kohya", "peft"].map { LoRAReference(path: "/tmp/fcs-bench-lora/\($0).safetensors") }

    @Option(help: "How layers keep their weights: fp32, or fp16 widened per layer when used.")
    var weights: WeightStorageArgument = .fp32

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        if let threads { ComputeThreads.count = threads }
        print("fcs, \(ComputeThreads.count) threads, \(weights.rawValue) weights, SD 1.5 with random (seeded) weights")
        let names = loras.map { String($0.path.split(separator: "/").last ?? "") }.joined(separator: " + ")
        let rows = [
            ("SD 1.5, no LoRA", try measure { _ = try StableDiffusion.random(seed: 1, precision: weights.precision) }),
            ("LoRA files read alone (\(loras.count))", try measure { for lora in loras { _ = try LoRA(path: lora.path) } }),
            ("SD 1.5 + \(names)", try measure { _ = try StableDiffusion.random(seed: 1, precision: weights.precision, loras: loras) }),
        ]
        let width = rows.map(\.0.count).max()!
        print("\("load".padding(width)) | seconds | peak RSS GiB")
        for (name, (seconds, peak)) in rows {
            print("\(name.padding(width)) | \(format(seconds, 2).leftPadding(7)) | \(format(peak, 2).leftPadding(12))")
        }
        let (base, merged) = (rows[0].1, rows[2].1)
        print("merging \(loras.count) LoRA(s): +\(format(merged.0 - base.0, 2)) s, +\(format(merged.1 - base.1, 2)) GiB peak")
    }

    /// Seconds `body` takes and the peak RSS while it runs (everything it made is freed after).
    private func measure(_ body: () throws -> Void) throws -> (Double, Double) {
        resetPeakResident()
        let start = ContinuousClock.now
        try body()
        return ((ContinuousClock.now - start).seconds, residentGiB(peak: true))
    }
}

/// Sets the peak RSS (VmHWM) back to the current RSS (Linux's /proc/self/clear_refs, value 5).
private func resetPeakResident() {
    guard let file = fopen("/proc/self/clear_refs", "w") else { return }
    fputs("5", file)
    fclose(file)
}
