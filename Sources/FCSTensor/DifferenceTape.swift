import _FCSKernels

/// Makes one forward pass an accurate *difference* from a recorded one, for the sampler's
/// finite difference J·e = (f(x + δe) − f(x)) / δ when layers compute in bf16.
///
/// Rounding every activation to bf16 adds noise of about 2⁻⁹ of each value to a forward; two
/// forwards at x and x + δe (‖δe‖∞ = 0.005) round differently, and their difference drowns in
/// that noise (`fcs bench precision`: J·e cosine 0.06 to fp32's at t = 900 on the demo model).
/// With a tape, the forward at x *records* each bf16 linear operation's input a and output W·a,
/// and the forward at x + δe *replays*: each such operation computes W·a′ as the recorded W·a
/// plus W·(a′ − a), where only the small difference a′ − a is rounded to bf16 — exactly the same
/// sum by linearity, with rounding error relative to the difference, not to a. Non-linear
/// operations run in float32 on a′ as usual, and attention (a product of two activations, not
/// linear) runs in float32 in both passes while a tape is attached.
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

    /// One operation's recorded input and output (buffers kept between recordings).
    final class Entry {
        var input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>
        var inputShape: [Int] = [], outputShape: [Int] = []
        private var inputCapacity = 0, outputCapacity = 0

        init() {
            input = .allocate(capacity: 1)
            output = .allocate(capacity: 1)
        }

        deinit {
            input.deallocate()
            output.deallocate()
        }

        func store(input x: Tensor, output y: Tensor) {
            if x.count > inputCapacity {
                input.deallocate()
                (input, inputCapacity) = (.allocate(capacity: x.count), x.count)
            }
            if y.count > outputCapacity {
                output.deallocate()
                (output, outputCapacity) = (.allocate(capacity: y.count), y.count)
            }
            input.update(from: x.data, count: x.count)
            output.update(from: y.data, count: y.count)
            (inputShape, outputShape) = (x.shape, y.shape)
        }

        var bytes: Int { 4 * (inputCapacity + outputCapacity) }
    }

    public init() {}

    /// The next forward records (what was recorded before is dropped; its buffers are reused).
    public func beginRecording() { (mode, count) = (.record, 0) }

    /// The next forward replays the last recording from its first operation.
    public func beginReplay() { (mode, cursor) = (.replay, 0) }

    /// Bytes the buffers hold.
    public var bytes: Int { entries.reduce(0) { $0 + $1.bytes } }

    /// Runs one linear operation `y = op(x) + constant` under the tape: recording, `op` with its
    /// constant and a copy of x and y kept; replaying, `y = recorded y + op(x − recorded x)` with
    /// `linearPart` (the operation without its constant, e.g. a layer without its bias).
    func run(_ x: Tensor, in arena: ScratchArena, operation: (Tensor) -> Tensor, linearPart: (Tensor) -> Tensor) -> Tensor {
        switch mode {
        case .record:
            let y = operation(x)
            if count == entries.count { entries.append(Entry()) }
            entries[count].store(input: x, output: y)
            count += 1
            return y
        case .replay:
            guard cursor < count, entries[cursor].inputShape == x.shape else { return operation(x) }
            let entry = entries[cursor]
            cursor += 1
            let difference = arena.tensor(x.shape)
            fcs_sub(x.data, 1, entry.input, 1, difference.data, x.count)
            let y = linearPart(difference)
            guard y.shape == entry.outputShape, y.isContiguous else { return operation(x) }
            fcs_add(y.data, 1, entry.output, 1, y.data, y.count)
            return y
        }
    }
}
