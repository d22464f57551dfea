import COpenBLAS
import Dispatch
import _FCSKernels
#if canImport(Glibc)
import Glibc
#endif

/// The one place that decides how many threads fcs computes with.
///
/// fcs splits every kernel — GEMMs included — into `count` fixed, equal parts and runs them on
/// Dispatch's pool, while OpenBLAS itself is kept single-threaded. So there is one pool (no
/// OpenBLAS threads spinning against ours, pitfall P22), results depend only on `count`
/// (the partition is fixed, never work-stealing), and a host that already runs one fcs call per
/// core (a vips worker pool) can set `count = 1`.
public enum ComputeThreads {
    private nonisolated(unsafe) static var configured: Int = {
        openblas_set_num_threads(1)
        return defaultCount
    }()

    /// Threads per kernel: `FCS_NUM_THREADS` if set, else the number of online cores.
    public static var defaultCount: Int {
        if let value = getenv("FCS_NUM_THREADS").flatMap({ Int(String(cString: $0)) }), value > 0 {
            return value
        }
        return max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// Threads each kernel uses. Set it before running work, not while kernels run.
    public static var count: Int {
        get { configured }
        set {
            openblas_set_num_threads(1)
            configured = max(1, newValue)
        }
    }

    /// Runs `body(part, parts)` for `part` in `0..<parts`, in parallel, where
    /// `parts = min(count, maxParts)`. Returns when all parts are done.
    static func run(maxParts: Int = .max, _ body: (_ part: Int, _ parts: Int) -> Void) {
        let parts = max(1, min(count, maxParts))
        if parts == 1 {
            body(0, 1)
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: parts) { box.value($0, parts) }
        }
    }

    /// Splits `0..<total` into `count` contiguous ranges and runs `body` on each in parallel.
    static func forEachRange(_ total: Int, minimumPerPart: Int = 1, _ body: (Range<Int>) -> Void) {
        guard total > 0 else { return }
        let maxParts = max(1, total / max(minimumPerPart, 1))
        run(maxParts: maxParts) { part, parts in
            let range = partRange(total, part: part, parts: parts)
            if !range.isEmpty { body(range) }
        }
    }

    /// The `part`-th of `parts` near-equal contiguous ranges of `0..<total`.
    static func partRange(_ total: Int, part: Int, parts: Int) -> Range<Int> {
        let base = total / parts, extra = total % parts
        let start = part * base + min(part, extra)
        return start..<(start + base + (part < extra ? 1 : 0))
    }
}

/// Lets a closure that is only ever run synchronously cross Dispatch's `@Sendable` requirement.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// The instruction set the vectorised kernels run with on this CPU: "avx512", "avx2" or "baseline".
public var kernelISA: String { String(cString: fcs_kernels_isa()) }

/// The GEMM micro-kernels in use: "avx512bf16", "avx512", "avx2" or "baseline" (this CPU's best
/// unless ``selectGEMMKernels(_:)`` chose others).
public var gemmKernels: String { String(cString: fcs_conv_gemm_selected_isa()) }

/// Benchmarks and tests only (not thread-safe; call before layers are made, since Winograd's
/// choice follows it): runs the GEMMs, and Winograd's transforms, with the micro-kernels named
/// as ``gemmKernels`` names them, or this CPU's best for nil. Returns false, changing nothing,
/// when this CPU cannot run them.
@discardableResult
public func selectGEMMKernels(_ isa: String?) -> Bool { fcs_conv_gemm_select(isa) == 0 }
