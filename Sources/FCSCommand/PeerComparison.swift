/// One of issue 13's speed goals: fcs's time for `row` at most `factor` × PyTorch's time for it
/// in `variant`, measured in the same run.
struct BenchGoal {
    let row: String
    let variant: String
    let factor: Double
    /// Where set, the goal is only for CPUs on which fcs runs these GEMM micro-kernels
    /// (``gemmKernels``; `--kernels` forces them on a CPU that has more, to stand for one that has not).
    var kernels: String? = nil

    static let all = [
        BenchGoal(row: ModelRow.unet(side: 512, batch: 1), variant: PeerFigures.fp32, factor: 0.5),
        BenchGoal(row: ModelRow.unet(side: 512, batch: 1), variant: PeerFigures.bf16Autocast, factor: 0.8),
        BenchGoal(row: ModelRow.unet(side: 256, batch: 1), variant: PeerFigures.fp32, factor: 0.5),
        BenchGoal(row: ModelRow.vaeDecode, variant: PeerFigures.fp32, factor: 0.5),
        BenchGoal(row: ModelRow.unet(side: 512, batch: 1), variant: PeerFigures.fp32, factor: 0.7, kernels: "avx2"),
    ]

    var name: String {
        (kernels.map { "kernels \($0) only: " } ?? "") + "\(row) ≤ \(format(factor, 1)) × PyTorch \(variant)"
    }
}

/// `fcs bench models --peer FILE`: fcs's rows next to PyTorch's figures from FILE, the ratio to
/// PyTorch's best variant, and each goal as `goal | figure | PASS/FAIL` ("-" where it does not
/// apply or was not measured: the figure column says why).
struct PeerComparison {
    let peer: PeerFigures
    /// The peer file, as messages name it.
    let source: String

    /// fcs's `rows` (name, median seconds, timed on `threads` threads) next to PyTorch's.
    func table(fcs rows: [(name: String, seconds: Double)], threads: Int) -> [String] {
        var lines = ["PyTorch peer (\(source)): PyTorch \(peer.torch), \(peer.threads) threads, \(peer.cpu), flags \(peer.flagSummary)"]
        if peer.threads != threads {
            lines.append("note: PyTorch ran on \(peer.threads) threads and fcs on \(threads): the ratios compare unlike runs")
        }
        let width = max(rows.map(\.name.count).max() ?? 0, "network".count)
        let columns = peer.variants.map { max($0.count, 8) }
        lines.append((["network".padding(width), "fcs s".leftPadding(8)] + zip(peer.variants, columns).map { $0.leftPadding($1) }
                      + ["fcs / best PyTorch"]).joined(separator: " | "))
        var missing: [String] = []
        for (name, seconds) in rows {
            let figures = peer.rows[name] ?? [:]
            if figures.isEmpty { missing.append(name) }
            let cells = zip(peer.variants, columns).map { variant, column in
                (figures[variant].map { format($0, 3) } ?? "-").leftPadding(column)
            }
            let best = figures.min { $0.value < $1.value }
            let ratio = best.map { "\(format(seconds / $0.value, 2)) (\($0.key))" } ?? "-"
            lines.append(([name.padding(width), format(seconds, 3).leftPadding(8)] + cells + [ratio]).joined(separator: " | "))
        }
        return lines + missing.map { "\(source) has no row \"\($0)\" (tools/bench_models_torch.py did not time it)" }
    }

    /// Each of ``BenchGoal/all`` judged on fcs's `rows`, timed with the GEMM micro-kernels `kernels` (``gemmKernels``).
    func goals(fcs rows: [(name: String, seconds: Double)], kernels: String) -> [String] {
        let results = BenchGoal.all.map { goal in (goal.name, result(of: goal, fcs: rows, kernels: kernels)) }
        let goalWidth = results.map(\.0.count).max() ?? 0, figureWidth = results.map(\.1.figure.count).max() ?? 0
        return ["\("goal".padding(goalWidth)) | \("figure".padding(figureWidth)) | result"]
            + results.map { "\($0.padding(goalWidth)) | \($1.figure.padding(figureWidth)) | \($1.verdict)" }
    }

    /// The figure a goal is judged on (or why there is none) and PASS, FAIL or "-".
    func result(of goal: BenchGoal, fcs rows: [(name: String, seconds: Double)], kernels: String) -> (figure: String, verdict: String) {
        if let only = goal.kernels, only != kernels { return ("not this CPU (fcs GEMM kernels \(kernels))", "-") }
        guard let seconds = rows.first(where: { $0.name == goal.row })?.seconds else {
            return ("fcs did not time \"\(goal.row)\"", "-")
        }
        guard let figures = peer.rows[goal.row] else { return ("\(source) has no row \"\(goal.row)\"", "-") }
        guard let reference = figures[goal.variant] else {
            return ("not measured (PyTorch timed \(figures.keys.sorted().joined(separator: ", ")) only)", "-")
        }
        let ratio = seconds / reference
        return ("\(format(seconds, 3)) s / \(format(reference, 3)) s = \(format(ratio, 2))", ratio <= goal.factor ? "PASS" : "FAIL")
    }
}
