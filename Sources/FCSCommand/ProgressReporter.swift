#if canImport(Glibc)
import Glibc
#endif

/// Progress on stderr: a bar with an ETA on a terminal, plain lines otherwise (every step, or
/// every 10 % of a download).
final class ProgressReporter {
    enum Units { case steps, bytes }

    private let label: String
    private let units: Units
    private let quiet: Bool
    private let onTerminal = isatty(2) != 0
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    private var lastShown = -1

    init(label: String, units: Units = .steps, quiet: Bool = false) {
        (self.label, self.units, self.quiet) = (label, units, quiet)
        start = clock.now
    }

    var seconds: Double {
        let elapsed = clock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    func report(step: Int, total: Int) {
        guard !quiet, total > 0 else { return }
        let permille = 1000 * min(step, total) / total
        let shown = onTerminal || units == .steps ? permille : permille / 100 * 100
        guard shown != lastShown else { return }
        lastShown = shown
        let elapsed = seconds
        let remaining = step > 0 && total > 0 ? elapsed / Double(step) * Double(total - step) : 0
        let count = units == .steps ? "\(step)/\(total)" : "\(megabytes(step))/\(megabytes(total)) MB"
        let times = "\(duration(elapsed)) elapsed, ETA \(duration(remaining))"
        if onTerminal {
            let width = 30, filled = total > 0 ? width * min(step, total) / total : 0
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            standardError("\r\(label) \(bar) \(count)  \(times)\u{1B}[K" + (step == total ? "\n" : ""))
        } else {
            standardError("\(label): \(units == .steps ? "step " : "")\(count), \(times)\n")
        }
    }

    private func megabytes(_ bytes: Int) -> String {
        let tenths = bytes * 10 / 1_000_000
        return "\(tenths / 10).\(tenths % 10)"
    }
}

func standardError(_ text: String) {
    text.withCString { _ = write(2, $0, strlen($0)) }
}

func duration(_ seconds: Double) -> String {
    let whole = Int(seconds.rounded())
    return whole >= 60 ? "\(whole / 60)m \(whole % 60)s" : "\(whole)s"
}
