import ArgumentParser
import COpenBLAS
import FCSTensor

/// `fcs bench …`: benchmarks that print figures and never assert.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure speed (prints figures; compare with the tools/ PyTorch scripts).",
        subcommands: [BenchOps.self, BenchModels.self, BenchSample.self, BenchLoad.self, BenchPrecision.self, BenchMemory.self,
                      BenchDemo.self, BenchWinograd.self]
    )
}

/// Options every benchmark shares.
struct BenchOptions: ParsableArguments {
    @Option(help: "Compute threads (default: FCS_NUM_THREADS or the number of cores).")
    var threads: Int?

    @Option(help: "Timed runs per row, after one warm-up run; the median is reported.")
    var repeats: Int = 5

    @Option(help: ArgumentHelp("Force these GEMM micro-kernels (avx512bf16, avx512, avx2, baseline), and Winograd's transforms and choice with them: e.g. avx2 to time an AVX2-only CPU's path (the other kernels keep this CPU's best). Default: the best this CPU runs.",
                               valueName: "isa"))
    var kernels: String?

    func validate() throws {
        try Self.validate(threads: threads)
        if !(1...1000).contains(repeats) { throw ValidationError("--repeats must be 1 … 1000") }  // the times are kept
        if let kernels {
            defer { selectGEMMKernels(nil) }  // only asks; apply() selects
            if !selectGEMMKernels(kernels) {
                throw ValidationError("--kernels \(kernels): not one of avx512bf16, avx512, avx2, baseline that this CPU runs")
            }
        }
    }

    /// Thread counts a benchmark takes (OpenBLAS takes an Int32, and more threads than this
    /// machine could have measures nothing).
    static func validate(threads: Int?) throws {
        if let threads, !(1...1024).contains(threads) { throw ValidationError("--threads must be 1 … 1024") }
    }

    func apply() {
        if let threads { ComputeThreads.count = threads }
        if let kernels { selectGEMMKernels(kernels) }
    }

    /// Median seconds of `repeats` runs of `body`, after one warm-up run.
    func medianSeconds(_ body: () -> Void) -> Double {
        body()
        let clock = ContinuousClock()
        let times = (0..<repeats).map { _ in clock.measure(body) }.map(\.seconds).sorted()
        return times[times.count / 2]
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
