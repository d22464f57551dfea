#if canImport(Glibc)
import Glibc
#endif

/// Progress on stderr: a bar with an ETA on a terminal, plain lines otherwise. Steps are shown
/// when the step changes (fcs repeats the same value before each network evaluation), bytes
/// every 0.1 % on a terminal and every 10 % otherwise.
final class ProgressReporter {
    enum Units { case steps, bytes }

    private let label: String
    private let units: Units
    private let quiet: Bool
    private let onTerminal = isatty(2) != 0
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    private var lastShown: (position: Int, total: Int)?
    private var lineOpen = false  // a bar is drawn and its line not ended

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
        let done = min(max(step, 0), total)
        let fraction = Double(done) / Double(total)  // in Double: a server may send any Content-Length
        let position = units == .steps ? done : Int(fraction * 1000) / (onTerminal ? 1 : 100)  // ‰
        guard lastShown.map({ $0 != (position, total) }) ?? true else { return }
        lastShown = (position, total)
        let elapsed = seconds
        let remaining = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        let count = units == .steps ? "\(done)/\(total)" : "\(megabytes(done))/\(megabytes(total)) MB"
        let times = "\(duration(elapsed)) elapsed, ETA \(duration(remaining))"
        if onTerminal {
            let width = 30, filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            lineOpen = done < total
            standardError("\r\(label) \(bar) \(count)  \(times)\u{1B}[K" + (lineOpen ? "" : "\n"))
        } else {
            standardError("\(label): \(units == .steps ? "step " : "")\(count), \(times)\n")
        }
    }

    /// Ends a bar's line, for a message after an unfinished bar.
    func endLine() {
        if lineOpen { standardError("\n") }
        lineOpen = false
    }

    private func megabytes(_ bytes: Int) -> String {
        let tenths = bytes / 100_000
        return "\(tenths / 10).\(tenths % 10)"
    }
}

func standardError(_ text: String) {
    text.withCString { _ = write(2, $0, strlen($0)) }
}

func duration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds < 1e6 else { return "over 11 days" }  // an ETA from a server's byte count
    let whole = Int(seconds.rounded())
    return whole >= 60 ? "\(whole / 60)m \(whole % 60)s" : "\(whole)s"
}
