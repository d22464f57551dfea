import ArgumentParser
import FCSModels
import FCSTensor
#if canImport(Glibc)
import Glibc
#endif

/// `fcs bench load`: what merging LoRAs costs when a model loads — an SD 1.5 checkpoint (random
/// weights) loaded without and with LoRA files merged, in seconds and peak memory. Every load
/// runs in a fresh `fcs` process, so that its peak RSS is its own (in one process, memory an
/// earlier load freed stays with the allocator and blurs the figures).
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

    @Option(help: "Loads per row, each in a new process; the fastest is reported, with the highest peak RSS.")
    var repeats = 2

    @Option(help: "The model to load: a diffusers folder or single-file checkpoint.")
    var model = "/tmp/fcs-bench-lora/sd15.safetensors"

    @Option(name: .customLong("lora"), help: ArgumentHelp("A LoRA file to merge, with its scale; repeatable.", valueName: "file[:scale]"))
    var loras: [LoRAReference] = ["kohya", "peft"].map { LoRAReference(path: "/tmp/fcs-bench-lora/\($0).safetensors") }

    @Option(help: "How layers keep their weights: fp32, or fp16 widened per layer when used.")
    var weights: WeightStorageArgument = .fp32

    /// Set in the child processes: which row to load once, printing "seconds cpuSeconds peakGiB".
    @Option(help: .hidden)
    var row: Row?

    enum Row: String, ExpressibleByArgument, CaseIterable {
        case model, loras, merged
    }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if repeats < 1 { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        if let threads { ComputeThreads.count = threads }
        if let row { return try load(row) }
        for path in [model] + loras.map(\.path) where access(path, F_OK) != 0 {
            throw CommandFailure("\(path) does not exist (the default files: python3 tools/make_bench_loras.py /tmp/fcs-bench-lora)")
        }
        print("fcs, \(ComputeThreads.count) threads, \(weights.rawValue) weights, \(model)")
        let names = loras.map { String($0.path.split(separator: "/").last ?? "") }.joined(separator: " + ")
        let titles: [Row: String] = [.model: "model, no LoRA", .loras: "LoRA files read alone (\(loras.count))", .merged: "model + \(names)"]
        var results: [Row: (seconds: Double, cpu: Double, peak: Double)] = [:]
        for row in Row.allCases {
            for _ in 0..<repeats {
                let (seconds, cpu, peak) = try child(row)
                let best = results[row] ?? (.infinity, .infinity, 0)
                results[row] = (min(best.seconds, seconds), min(best.cpu, cpu), max(best.peak, peak))
            }
        }
        let width = titles.values.map(\.count).max()!
        print("\("load".padding(width)) | seconds | CPU seconds | peak RSS GiB")
        for row in Row.allCases {
            let (seconds, cpu, peak) = results[row]!
            print("\(titles[row]!.padding(width)) | \(format(seconds, 2).leftPadding(7)) | \(format(cpu, 2).leftPadding(11)) | \(format(peak, 2).leftPadding(12))")
        }
        let (base, merged) = (results[.model]!, results[.merged]!)
        print("merging \(loras.count) LoRA(s): +\(format(merged.seconds - base.seconds, 2)) s, +\(format(merged.cpu - base.cpu, 2)) CPU s, +\(format(merged.peak - base.peak, 2)) GiB peak RSS")
    }

    /// One load in this process; prints its seconds, CPU seconds (user + system, all threads) and
    /// peak RSS for the parent.
    private func load(_ row: Row) throws {
        var options = StableDiffusion.LoadOptions()
        options.precision = weights.precision
        let start = ContinuousClock.now
        switch row {
        case .model: _ = try StableDiffusion.load(model, options: options)
        case .loras: for lora in loras { _ = try LoRA(path: lora.path) }
        case .merged:
            options.loras = loras
            _ = try StableDiffusion.load(model, options: options)
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = [usage.ru_utime, usage.ru_stime].map { Double($0.tv_sec) + Double($0.tv_usec) * 1e-6 }.reduce(0, +)
        print((ContinuousClock.now - start).seconds, cpu, residentGiB(peak: true))
    }

    /// Runs `fcs bench load --row row` with these options in a new process.
    private func child(_ row: Row) throws -> (Double, Double, Double) {
        var arguments = ["bench", "load", "--row", row.rawValue, "--model", model, "--weights", weights.rawValue]
        if let threads { arguments += ["--threads", String(threads)] }
        for lora in loras { arguments += ["--lora", "\(lora.path):\(lora.scale)"] }
        let executable = (try? String(contentsOfSymlink: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let command = ([executable] + arguments).map { "'" + $0.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'" }
            .joined(separator: " ")
        guard let pipe = popen(command, "r") else { throw CommandFailure("cannot run \(executable)") }
        var output = [CChar](repeating: 0, count: 256)
        let line = fgets(&output, Int32(output.count), pipe) != nil
            ? String(decoding: output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        let status = pclose(pipe)
        let fields = line.split(separator: " ").compactMap { Double($0.filter { !$0.isWhitespace }) }
        guard status == 0, fields.count == 3 else { throw CommandFailure("bench load --row \(row.rawValue) failed (status \(status))") }
        return (fields[0], fields[1], fields[2])
    }
}

private extension String {
    /// The target of the symbolic link at `path`.
    init(contentsOfSymlink path: String) throws {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { throw CommandFailure("cannot read \(path)") }
        self = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// `fcs bench load --lora FILE[:SCALE]`: the text after the last `:` is the scale when it is a number, so a
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
