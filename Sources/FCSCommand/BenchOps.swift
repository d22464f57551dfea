import ArgumentParser
import COpenBLAS
import FCSTensor

/// `fcs bench ops`: the SD-shaped kernels against the sgemm ceiling measured in the same run.
struct BenchOps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "Time SD-shaped conv, linear and attention kernels against the sgemm ceiling.",
        discussion: "tools/bench_ops_torch.py prints the same rows for PyTorch CPU."
    )

    @OptionGroup var options: BenchOptions

    @Option(help: "How the conv and linear rows keep their weights, and the precision attention computes in (as `fcs bench models --weights`).")
    var weights: WeightStorageArgument = .fp32

    func run() {
        options.apply()
        let threads = ComputeThreads.count
        var random = NormalGenerator(seed: 0)
        let arena = ScratchArena()

        // The ceiling: square 2048 sgemm, by OpenBLAS's own threading and by fcs's split; the
        // better of the two is what every row is compared with.
        let n = 2048, gemmFlops = 2 * Double(n * n * n)
        let a = random.tensor([n, n]), b = random.tensor([n, n]), c = Tensor(zeros: [n, n])
        openblas_set_num_threads(Int32(threads))
        let nativeSeconds = options.medianSeconds {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1,
                        a.data, Int32(n), b.data, Int32(n), 0, c.data, Int32(n))
        }
        ComputeThreads.count = threads  // back to single-threaded OpenBLAS under fcs's split
        let splitSeconds = options.medianSeconds { arena.scope { _ = matmul(a, b, in: arena) } }
        let ceiling = gemmFlops / min(nativeSeconds, splitSeconds) / 1e9
        print("fcs, \(threads) threads, kernels \(kernelISA), \(weights.rawValue) weights, OpenBLAS core \(String(cString: openblas_get_corename())), sgemm 2048^3 ceiling: \(format(ceiling, 1)) GFLOP/s "
              + "(OpenBLAS threads \(format(gemmFlops / nativeSeconds / 1e9, 1)), fcs split \(format(gemmFlops / splitSeconds / 1e9, 1)))")

        var rows: [(String, Double, Double)] = []
        // Every algorithm where Winograd applies: what each buys per UNet level, against its weight
        // memory (F(2x2): 16/9 of the direct convolution's, F(4x4): 4x).
        for (size, channels) in [(64, 320), (32, 640), (16, 1280), (8, 1280)] {
            let weight = random.tensor([channels, channels, 3, 3], scale: 0.02), bias = random.tensor([channels])
            let x = random.tensor([1, channels, size, size])
            let chosen = Conv2d(weight: weight, bias: nil, padding: 1, algorithm: .preferred(forOutputSize: size),
                                precision: weights.precision).algorithm
            for algorithm in [Conv2d.Algorithm.winograd, .winograd4x4, .implicitGEMM] {
                let conv = Conv2d(weight: weight, bias: bias, padding: 1, algorithm: algorithm, precision: weights.precision)
                let seconds = options.medianSeconds { arena.scope { _ = conv(x, in: arena) } }
                let name = algorithm.winogradOutputTile.map { "Winograd F(\($0)x\($0))" } ?? "implicit GEMM"
                rows.append(("conv3x3 \(size)x\(size)x\(channels)->\(channels), \(name)\(chosen == algorithm ? " *" : "")", seconds,
                             2 * Double(size * size * channels * channels * 9)))
            }
        }
        let linear = Linear(weight: random.tensor([1280, 320], scale: 0.05), bias: random.tensor([1280]), precision: weights.precision)
        let tokens = random.tensor([1, 4096, 320])
        rows.append(("linear 4096x320->1280", options.medianSeconds { arena.scope { _ = linear(tokens, in: arena) } },
                     2 * 4096 * 320 * 1280))
        for (name, keys) in [("self-attention 4096x320 (8 heads)", 4096), ("cross-attention 4096x77 (8 heads)", 77)] {
            let q = random.tensor([1, 4096, 320]), k = random.tensor([1, keys, 320]), v = random.tensor([1, keys, 320])
            let seconds = options.medianSeconds {
                arena.scope { _ = scaledDotProductAttention(query: q, key: k, value: v, heads: 8, precision: weights.precision, in: arena) }
            }
            rows.append((name, seconds, 4 * 4096 * Double(keys) * 320))
        }

        print("(conv rows count direct-convolution FLOPs; Winograd F(2x2) does 2.25x fewer, F(4x4) 4x; * = Conv2d's choice at that size, which the UNet narrows (`fcs bench winograd`); \(weights.rawValue) weights)")
        let width = rows.map(\.0.count).max() ?? 0
        print("\("op".padding(width)) |       ms | GFLOP/s | % of sgemm")
        for (name, seconds, flops) in rows {
            let gflops = flops / seconds / 1e9
            print("\(name.padding(width)) | \(format(seconds * 1e3, 2).leftPadding(8)) | \(format(gflops, 1).leftPadding(7)) | \(format(100 * gflops / ceiling, 1).leftPadding(9))")
        }
    }
}

func format(_ value: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = String(rounded)
    if let dot = text.firstIndex(of: ".") {
        let have = text.distance(from: dot, to: text.endIndex) - 1
        text += String(repeating: "0", count: max(0, decimals - have))
    }
    return text
}

extension String {
    func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
    func leftPadding(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
