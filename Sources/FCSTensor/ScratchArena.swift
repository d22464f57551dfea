#if canImport(Glibc)
import Glibc
#endif

/// A bump allocator for the activations of a network forward.
///
/// A forward pass allocates every intermediate tensor here and rewinds when it is done, so after
/// the first pass no layer touches the system allocator. Memory comes in large chunks that are
/// kept for reuse; a tensor keeps its chunk alive, so a stale view after ``rewind(to:)`` reads
/// overwritten values but never freed memory.
///
/// Running out of memory while a pass allocates cannot be reported (allocation does not throw):
/// it stops the process. Call ``reserve(floats:)`` with the pass's working-set estimate first to
/// get `.outOfMemory` instead.
///
/// An arena is used by one thread at a time (kernels may fan out internally, but only the thread
/// that owns the arena allocates from it).
public final class ScratchArena: @unchecked Sendable {
    /// A position to return to with ``rewind(to:)``.
    public struct Mark: Sendable {
        let chunk: Int
        let used: Int
    }

    final class Chunk {
        let base: UnsafeMutablePointer<Float>
        let capacity: Int
        /// nil when the system refuses the memory.
        init?(capacity: Int) {
            var memory: UnsafeMutableRawPointer?
            guard capacity <= Int.max / MemoryLayout<Float>.stride,
                  posix_memalign(&memory, 64, capacity * MemoryLayout<Float>.stride) == 0, let memory else { return nil }
            self.capacity = capacity
            base = memory.bindMemory(to: Float.self, capacity: capacity)
        }
        deinit { free(base) }
    }

    /// While set, bf16 linear operations record to or replay from it (``DifferenceTape``).
    public var differenceTape: DifferenceTape?

    private var chunks: [Chunk] = []
    private var current = 0
    private var used = 0
    private let minimumChunkFloats: Int

    /// The most floats that were in use at once since creation (for memory reports).
    public private(set) var peakFloats = 0
    private var floatsInEarlierChunks = 0

    /// - Parameter chunkBytes: size of each chunk; requests larger than this get their own chunk.
    public init(chunkBytes: Int = 64 << 20) {
        minimumChunkFloats = max(chunkBytes / MemoryLayout<Float>.stride, 1024)
    }

    /// Total bytes held (in use or free for reuse).
    public var reservedBytes: Int { chunks.reduce(0) { $0 + $1.capacity } * MemoryLayout<Float>.stride }

    /// An uninitialised contiguous tensor of `shape` in arena memory (64-byte aligned).
    public func tensor(_ shape: [Int]) -> Tensor {
        let count = Tensor.elementCount(shape)
        let (chunk, start) = allocate(count)
        return Tensor(shape: shape, strides: Tensor.contiguousStrides(shape),
                      storage: TensorStorage(borrowing: chunk.base + start, count: count, owner: chunk),
                      offset: 0)
    }

    /// A zero-filled contiguous tensor of `shape` in arena memory.
    public func zeros(_ shape: [Int]) -> Tensor {
        let t = tensor(shape)
        t.data.initialize(repeating: 0, count: t.count)
        return t
    }

    /// Raw scratch floats for kernels (64-byte aligned), valid until the next rewind past them.
    func scratch(_ count: Int) -> UnsafeMutablePointer<Float> {
        let (chunk, start) = allocate(count)
        return chunk.base + start
    }

    /// Raw scratch Int32s (index tables for kernels), with the same lifetime rule.
    func scratchInt32(_ count: Int) -> UnsafeMutablePointer<Int32> {
        UnsafeMutableRawPointer(scratch(count)).bindMemory(to: Int32.self, capacity: count)
    }

    /// Makes sure the next `floats` floats of requests (their alignment included) need no memory
    /// from the system, so that a pass whose working set is at most that cannot fail mid-way:
    /// a chunk that large is allocated now unless the current one's free rest or the next one
    /// already holds it. Chunks past the current one hold nothing live and are replaced.
    ///
    /// The system refuses only what it cannot promise: under Linux's default overcommit a request
    /// within free memory plus swap is granted and can still run out when first touched, so
    /// compare working sets with the memory available (`MemAvailable`, the cgroup's limit) too.
    /// - Throws: `.outOfMemory` when the system refuses the memory.
    public func reserve(floats: Int) throws(FCSError) {
        if current < chunks.count && (chunks[current].capacity - used >= floats
                                      || (current + 1 < chunks.count && chunks[current + 1].capacity >= floats)) {
            return
        }
        guard let chunk = Chunk(capacity: max(floats, minimumChunkFloats)) else {
            throw .outOfMemory("scratch memory: the system refused \(floats / (1 << 18)) MiB for this pass")
        }
        let next = current < chunks.count ? current + 1 : current
        chunks.removeSubrange(min(next, chunks.count)...)
        chunks.append(chunk)
    }

    public func mark() -> Mark { Mark(chunk: current, used: used) }

    /// Releases everything allocated after `mark` for reuse.
    public func rewind(to mark: Mark) {
        current = mark.chunk
        used = mark.used
        floatsInEarlierChunks = chunks.prefix(current).reduce(0) { $0 + $1.capacity }
    }

    /// Runs `body`, then releases what it allocated. Copy results you keep out of the arena.
    public func scope<R>(_ body: () throws -> R) rethrows -> R {
        let m = mark()
        defer { rewind(to: m) }
        return try body()
    }

    /// Runs `body` and keeps only the tensor it returns: everything else it allocated is released.
    /// This is how a block of a network frees its temporaries — the result is moved down to where
    /// the block's allocations began (one copy of the output), so activations never pile up.
    public func retaining(_ body: () throws -> Tensor) rethrows -> Tensor {
        try retaining(from: mark(), body)
    }

    /// ``retaining(_:)`` that moves the result down to `start`, a mark the caller took before
    /// allocating an input it is done with: that input, like everything `body` allocated, is
    /// released. A chain of layers whose results each replace their input holds one activation
    /// between layers, not all of them.
    public func retaining(from start: Mark, _ body: () throws -> Tensor) rethrows -> Tensor {
        let result = try body()
        precondition(result.isContiguous, "retaining: the kept tensor must be contiguous")
        let source = result.data
        rewind(to: start)
        let kept = tensor(result.shape)
        // may overlap the old place (kept starts at or before it in the same chunk): memmove
        UnsafeMutableRawPointer(kept.data).copyMemory(from: source, byteCount: result.count * MemoryLayout<Float>.stride)
        return kept
    }

    /// The floats a request for `count` takes: every start stays 64-byte aligned.
    public static func alignedFloats(_ count: Int) -> Int { (max(count, 1) + 15) & ~15 }

    private func allocate(_ count: Int) -> (Chunk, Int) {
        let aligned = ScratchArena.alignedFloats(count)
        while current < chunks.count {
            if used + aligned <= chunks[current].capacity {
                let start = used
                used += aligned
                peakFloats = max(peakFloats, floatsInEarlierChunks + used)
                return (chunks[current], start)
            }
            floatsInEarlierChunks += chunks[current].capacity
            current += 1
            used = 0
            // Chunks past the current one hold nothing live: one too small for this request is
            // replaced rather than skipped, so big layers do not pile up chunks at the end.
            if current < chunks.count && chunks[current].capacity < aligned {
                chunks[current] = newChunk(max(aligned, minimumChunkFloats))
            }
        }
        chunks.append(newChunk(max(aligned, minimumChunkFloats)))
        used = aligned
        peakFloats = max(peakFloats, floatsInEarlierChunks + used)
        return (chunks[current], 0)
    }

    private func newChunk(_ floats: Int) -> Chunk {
        guard let chunk = Chunk(capacity: floats) else {
            fatalError("ScratchArena: out of memory allocating \(floats / (1 << 18)) MiB (reserve(floats:) first to get an error instead)")
        }
        return chunk
    }
}
