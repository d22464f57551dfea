import _FCSKernels
#if canImport(Glibc)
import Glibc
#endif

/// Makes one forward pass an accurate *difference* from a recorded one, for the sampler's
/// finite difference J·e = (f(x + δe) − f(x)) / δ when layers compute in bf16.
///
/// Rounding every activation to bf16 adds noise of about 2⁻⁹ of each value to a forward; two
/// forwards at x and x + δe (‖δe‖∞ = 0.005) round differently, and their difference drowns in
/// that noise (`fcs bench precision`: J·e cosine 0.06 to fp32's at t = 900 on the demo model).
/// With a tape, the forward at x *records* each bf16 linear operation's input a and output W·a
/// (rounded to bf16, and the recording forward goes on with the rounded value, as PyTorch's bf16
/// autocast does), and the forward at x + δe *replays*: each such operation computes W·a′ as the
/// recorded W·a plus W·(a′ − a), where only the small difference a′ − a is rounded to bf16 — the
/// same sum by linearity, with rounding error relative to the difference, not to a. Non-linear
/// operations run in float32 on a′ as usual, and attention (a product of two activations, not
/// linear) runs in float32 in both passes while a tape is attached.
///
/// An operation whose input is a function of outputs recorded earlier in the same forward
/// (FeedForward's second layer, after GEGLU; a transformer block's LayerNorms and `proj_out`, on the
/// residual stream's sums of them; a resnet's second convolution) keeps none of its input when its
/// caller says how
/// (``RecordedValue``): the replay recomputes the recorded value from those recorded outputs, the
/// same float32 operations on the same values.
///
/// Attach it to the pass's ``ScratchArena`` (``ScratchArena/differenceTape``) for exactly the two
/// forwards and detach it after: layers with float32 or float16 weights ignore it. The replayed
/// forward must be the same network on inputs of the same shapes (an operation whose recorded
/// shape differs is computed directly, without the tape).
public final class DifferenceTape: @unchecked Sendable {  // used by one thread at a time, like its arena
    public enum Mode: Sendable { case record, replay }

    public private(set) var mode: Mode = .record
    private var entries: [Entry] = []
    private var count = 0, cursor = 0
    /// The replay met an operation it could not replay (another network or shape): from there on
    /// every operation computes directly, as entries no longer line up with operations.
    private var diverged = false

    /// One operation's recorded input (float32, exact: the replay subtracts it) and output
    /// (bf16: the recording forward continues with the rounded output, so the replay adds back
    /// exactly what that forward used). Buffers are kept between recordings.
    final class Entry {
        private(set) var input: UnsafeMutablePointer<Float>
        private var output: UnsafeMutablePointer<UInt16>
        private(set) var inputShape: [Int] = [], outputShape: [Int] = []
        /// The entry whose input buffer this one reads (q, k and v projections share one input).
        private(set) var sharesInputOf: Entry?
        /// The input is not kept: the replay derives it from earlier entries' outputs.
        private(set) var derivesInput = false
        private var inputCapacity = 0, outputCapacity = 0

        init() {
            input = .allocate(capacity: 1)
            output = .allocate(capacity: 1)
        }

        deinit {
            input.deallocate()
            output.deallocate()
        }

        /// Records x (or, if `previous` recorded the same values, shares its copy; or, if `derivesInput`,
        /// nothing of it) and rounds y to bf16 in place.
        func store(input x: Tensor, output y: Tensor, previous: Entry?, derivesInput: Bool) {
            self.derivesInput = derivesInput
            sharesInputOf = nil
            if !derivesInput, let previous, !previous.derivesInput, previous.inputShape == x.shape,
               memcmp(previous.inputValues, x.data, 4 * x.count) == 0 {
                sharesInputOf = previous.sharesInputOf ?? previous
            } else if !derivesInput {
                if x.count > inputCapacity {
                    input.deallocate()
                    (input, inputCapacity) = (.allocate(capacity: x.count), x.count)
                }
                input.update(from: x.data, count: x.count)
            }
            if y.count > outputCapacity {
                output.deallocate()
                (output, outputCapacity) = (.allocate(capacity: y.count), y.count)
            }
            fcs_round_to_bf16(y.data, output, y.count)
            (inputShape, outputShape) = (x.shape, y.shape)
        }

        var inputValues: UnsafePointer<Float> { UnsafePointer(sharesInputOf?.input ?? input) }

        /// The recorded output, widened to float32 in `arena`.
        func recordedOutput(in arena: ScratchArena) -> Tensor {
            let y = arena.tensor(outputShape)
            fcs_bf16_to_f32(output, y.data, y.count)
            return y
        }

        /// y += the recorded output.
        func addOutput(to y: Tensor) { fcs_add_bf16(y.data, output, y.count) }

        var bytes: Int { 4 * inputCapacity + 2 * outputCapacity }
    }

    public init() {}

    /// The next forward records (what was recorded before is dropped; its buffers are reused).
    public func beginRecording() { (mode, count, diverged) = (.record, 0, false) }

    /// The next forward replays the last recording from its first operation.
    public func beginReplay() { (mode, cursor, diverged) = (.replay, 0, false) }

    /// Bytes the buffers hold.
    public var bytes: Int { entries.reduce(0) { $0 + $1.bytes } }

    /// Operations of the last recording whose input the tape did not keep (tests).
    var derivedInputs: Int { entries.prefix(count).filter(\.derivesInput).count }

    /// The index of the operation this forward ran last under the tape (nil before its first).
    var lastOperation: Int? {
        let done = mode == .record ? count : cursor
        return done > 0 ? done - 1 : nil
    }

    /// Operation `index`'s recorded output, as the recording forward went on with it, widened to
    /// float32 in `arena`; nil for an operation this forward has not run yet.
    func recordedOutput(_ index: Int, in arena: ScratchArena) -> Tensor? {
        guard index >= 0, index < (mode == .record ? count : cursor), !diverged else { return nil }
        return entries[index].recordedOutput(in: arena)
    }

    /// Runs one linear operation `y = op(x) + constant` under the tape: recording, `op` with its
    /// constant and a copy of x and y kept; replaying, `y = recorded y + op(x − recorded x)` with
    /// `linearPart` (the operation without its constant, e.g. a layer without its bias).
    ///
    /// - Parameter recordedInput: given when x is computed from outputs recorded earlier in this
    ///   forward, by exactly these operations: x is then not kept (once the recording has checked
    ///   that it gives x bit for bit), and the replay recomputes its recorded value.
    func run(_ x: Tensor, in arena: ScratchArena, recordedInput: RecordedValue? = nil,
             operation: (Tensor) -> Tensor, linearPart: (Tensor) -> Tensor) -> Tensor {
        switch mode {
        case .record:
            let y = operation(x)
            if count == entries.count { entries.append(Entry()) }
            let entry = entries[count], previous = count > 0 ? entries[count - 1] : nil
            var derivesInput = false
            if let recordedInput {
                // checked until the entry is known to derive x at this shape (once, for the sampler's
                // recordings of one network): a derivation that does not give x bit for bit (another
                // layer in between, say) leaves x kept, and is checked again at the next recording
                derivesInput = entry.derivesInput && entry.inputShape == x.shape || arena.scope {
                    guard let derived = recordedInput.compute() else { return false }
                    return derived.shape == x.shape && derived.isContiguous && memcmp(derived.data, x.data, 4 * x.count) == 0
                }
            }
            entry.store(input: x, output: y, previous: previous, derivesInput: derivesInput)
            count += 1
            return y
        case .replay:
            guard !diverged, cursor < count, entries[cursor].inputShape == x.shape else {
                diverged = true
                return operation(x)
            }
            let entry = entries[cursor]
            cursor += 1
            let difference = arena.tensor(x.shape)
            if entry.derivesInput {
                let subtracted = arena.scope { () -> Bool in
                    guard let recorded = recordedInput?.compute(), recorded.shape == x.shape, recorded.isContiguous else { return false }
                    fcs_sub(x.data, 1, recorded.data, 1, difference.data, x.count)
                    return true
                }
                guard subtracted else {
                    diverged = true
                    return operation(x)
                }
            } else {
                fcs_sub(x.data, 1, entry.inputValues, 1, difference.data, x.count)
            }
            let y = linearPart(difference)
            guard y.shape == entry.outputShape, y.isContiguous else {
                diverged = true
                return operation(x)
            }
            entry.addOutput(to: y)
            return y
        }
    }
}

/// An activation of the forward a ``DifferenceTape`` records or replays, as the recording had it,
/// computed on demand from outputs the tape recorded: an operation whose input is one
/// (``Linear/callAsFunction(_:in:recordedInput:)``) keeps none of it on the tape. Built from
/// ``lastOutput(in:)`` with the forward's own float32 operations, so that it gives the same bits
/// (the recording checks that it does before it relies on it).
public struct RecordedValue {
    fileprivate let compute: () -> Tensor?

    /// The recorded output of the operation the arena's tape ran last; nil without a tape.
    public static func lastOutput(in arena: ScratchArena) -> RecordedValue? {
        guard let tape = arena.differenceTape, let index = tape.lastOperation else { return nil }
        return RecordedValue { tape.recordedOutput(index, in: arena) }
    }

    /// `transform` of this value.
    public func map(_ transform: @escaping (Tensor) -> Tensor) -> RecordedValue {
        RecordedValue { compute().map(transform) }
    }

    /// `combine` of this value and `other`.
    public func combined(with other: RecordedValue, _ combine: @escaping (Tensor, Tensor) -> Tensor) -> RecordedValue {
        RecordedValue {
            guard let value = compute(), let otherValue = other.compute() else { return nil }
            return combine(value, otherValue)
        }
    }
}
