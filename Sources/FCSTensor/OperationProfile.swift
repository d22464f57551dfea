import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Time and calls per kind of operation over one piece of work (say one UNet forward), so the
/// next speed-up is chosen from numbers: `fcs bench models --profile` prints it.
///
/// ```swift
/// let (eps, profile) = OperationProfile.recording { unet(sample, timestep: 500, encoderHiddenStates: text, in: arena) }
/// print(profile[.winogradConvolution].seconds, profile.unattributedSeconds)
/// ```
///
/// Guarantees:
/// * Off by default. Outside ``recording(_:)`` an operation's entry costs one relaxed atomic
///   load and a branch: no clock read, no allocation.
/// * A recording counts only the operations called on the thread that runs ``recording(_:)``,
///   while its body runs. fcs calls running at the same time on other threads (a vips worker
///   pool) are neither counted in it nor slowed beyond a thread-local lookup per operation, and
///   each thread may record its own profile at the same time. Operations run on the calling
///   thread (``ComputeThreads`` parallelises inside them), so their worker threads' time is part
///   of the operation's wall-clock time.
/// * An operation called from inside another measured one counts as part of the outer one only,
///   so no time is counted twice; the time between operations (arena copies, loops in the
///   models themselves, the timestep embedding) is ``unattributedSeconds``.
/// * A recording nested in another on the same thread gets its own profile, and its calls and
///   time are added to the outer one as well.
public struct OperationProfile: Sendable, Equatable {
    /// The kinds operations are counted under.
    public enum Kind: Int, CaseIterable, Sendable {
        /// 3×3 stride-1 ``Conv2d`` layers run by Winograd (F(2×2, 3×3) or F(4×4, 3×3)).
        case winogradConvolution
        /// ``Conv2d`` layers larger than 1×1 run by implicit GEMM: 3×3 layers with fewer than 16
        /// input or output channels (the VAE's conv_in and conv_out) or below 16×16 outputs (the
        /// UNet's 8×8 level), stride-2 downsamplers.
        case implicitGEMMConvolution
        /// 1×1 ``Conv2d`` layers (in SD: proj_in and proj_out, conv_shortcut, the VAE's quant convs).
        case pointwiseConvolution
        /// ``Linear`` layers.
        case linear
        /// ``scaledDotProductAttention(query:key:value:heads:causal:precision:in:)`` only; the q,
        /// k, v and output projections around it are ``linear``.
        case attention
        /// ``GroupNorm`` (with its fused SiLU) and ``LayerNorm``.
        case normalization
        /// Elementwise arithmetic and activations, and the operations that only move data: add,
        /// multiply, SiLU, GELU, GEGLU, softmax, concat, transposes, resampling.
        case elementwise

        /// A short label for tables.
        public var name: String {
            switch self {
            case .winogradConvolution: "3x3 conv, Winograd"
            case .implicitGEMMConvolution: "conv, implicit GEMM"
            case .pointwiseConvolution: "1x1 conv"
            case .linear: "linear"
            case .attention: "attention (SDPA core)"
            case .normalization: "GroupNorm, LayerNorm"
            case .elementwise: "elementwise, activations"
            }
        }
    }

    /// What one kind took.
    public struct Total: Sendable, Equatable {
        /// Operations of this kind that were called.
        public var calls = 0
        /// Their wall-clock seconds, summed.
        public var seconds: Double = 0
        /// Their multiply-adds × 2, for the kinds that are GEMMs (convolutions, linear layers,
        /// attention); 0 for the others, which are bound by memory. Winograd layers count the
        /// direct convolution's, so its rate is an effective one, comparable with implicit GEMM's;
        /// causal attention counts the full score matrix.
        public var flops = 0
    }

    /// One total per ``Kind``, at its raw value.
    private var totals = [Total](repeating: Total(), count: Kind.allCases.count)

    /// Wall-clock seconds the recorded body took.
    public private(set) var elapsedSeconds: Double = 0

    /// What operations of `kind` took.
    public subscript(kind: Kind) -> Total { totals[kind.rawValue] }

    /// The body's time spent outside every measured operation.
    public var unattributedSeconds: Double { elapsedSeconds - totals.reduce(0) { $0 + $1.seconds } }

    /// Runs `body` on this thread with recording on, and returns its result with what the
    /// operations it called took (see the type's guarantees).
    public static func recording<R>(_ body: () throws -> R) rethrows -> (result: R, profile: OperationProfile) {
        let recorder = Recorder(), key = recorderKey
        let outer = pthread_getspecific(key)
        precondition(pthread_setspecific(key, Unmanaged.passUnretained(recorder).toOpaque()) == 0,
                     "OperationProfile: no memory for this thread's recorder")
        activeRecordings.add(1, ordering: .relaxed)
        defer {
            activeRecordings.subtract(1, ordering: .relaxed)
            pthread_setspecific(key, outer)  // restores a value the thread held, which needs no memory
            if let outer { Unmanaged<Recorder>.fromOpaque(outer).takeUnretainedValue().add(recorder.profile) }
        }
        let start = monotonicNanoseconds()
        let result = try body()
        recorder.profile.elapsedSeconds = Double(monotonicNanoseconds() - start) * 1e-9
        return (result, recorder.profile)
    }

    /// Called first thing by each measured operation, which passes what this returns to
    /// ``Timing/stop()`` on exit: `let timing = OperationProfile.start(.attention)`, `defer { timing.stop() }`.
    /// The arguments are only evaluated while some thread records.
    @inline(__always)
    static func start(_ kind: @autoclosure () -> Kind, flops: @autoclosure () -> Int = 0) -> Timing {
        guard activeRecordings.load(ordering: .relaxed) != 0 else { return Timing(kind: nil, start: 0, flops: 0) }
        return startOnThisThread(kind(), flops: flops())
    }

    /// An operation's start, or nothing to record.
    struct Timing {
        fileprivate let kind: Kind?
        fileprivate let start: UInt64
        fileprivate let flops: Int

        @inline(__always)
        func stop() {
            if let kind { OperationProfile.stopOnThisThread(self, kind) }
        }
    }

    private static func startOnThisThread(_ kind: Kind, flops: Int) -> Timing {
        guard let recorder = currentRecorder() else { return Timing(kind: nil, start: 0, flops: 0) }  // another thread records
        recorder.depth += 1
        return Timing(kind: kind, start: recorder.depth == 1 ? monotonicNanoseconds() : 0, flops: flops)
    }

    private static func stopOnThisThread(_ timing: Timing, _ kind: Kind) {
        guard let recorder = currentRecorder() else { return }
        recorder.depth -= 1
        guard recorder.depth == 0 else { return }  // nested: part of the enclosing operation
        recorder.profile.totals[kind.rawValue].calls += 1
        recorder.profile.totals[kind.rawValue].seconds += Double(monotonicNanoseconds() - timing.start) * 1e-9
        recorder.profile.totals[kind.rawValue].flops += timing.flops
    }

    private static func currentRecorder() -> Recorder? {
        guard let pointer = pthread_getspecific(recorderKey) else { return nil }
        return Unmanaged<Recorder>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// A recording in progress: reached only from the thread that runs it, through its
    /// thread-specific pointer.
    private final class Recorder {
        var profile = OperationProfile()
        /// Measured operations open on this thread (1 inside one, more when nested).
        var depth = 0

        func add(_ inner: OperationProfile) {
            for kind in Kind.allCases {
                profile.totals[kind.rawValue].calls += inner[kind].calls
                profile.totals[kind.rawValue].seconds += inner[kind].seconds
                profile.totals[kind.rawValue].flops += inner[kind].flops
            }
        }
    }
}

/// Recordings in progress in the process: while it is 0 an operation's entry reads nothing else.
/// A thread's own increment is seen by its own later loads, whatever the ordering.
private let activeRecordings = Atomic<Int>(0)

/// Each thread's ``OperationProfile/Recorder`` (unretained; its recording keeps it alive).
private let recorderKey: pthread_key_t = {
    var key = pthread_key_t()
    precondition(pthread_key_create(&key, nil) == 0, "OperationProfile: the process has no thread-specific key left")
    return key
}()

private func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

extension Conv2d {
    /// The kind this layer is profiled under.
    var profileKind: OperationProfile.Kind {
        if kernelHeight == 1 && kernelWidth == 1 { return .pointwiseConvolution }
        return algorithm.winogradOutputTile != nil ? .winogradConvolution : .implicitGEMMConvolution
    }

    /// The direct convolution's FLOPs on `x` (0 for a shape the layer will refuse).
    func profileFLOPs(_ x: Tensor) -> Int {
        guard x.rank == 4 else { return 0 }
        let output = outputShape(x.shape)
        return 2 * output.reduce(1, *) * inChannels * kernelHeight * kernelWidth
    }
}
