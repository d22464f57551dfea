/// A float32 n-dimensional array: a shape, strides (in elements) and a view into storage.
///
/// Tensors are cheap values: copying one copies the view, not the data. Storage is either owned
/// (allocated by the tensor and freed with its last view), borrowed from a ``ScratchArena``, or
/// borrowed from a caller (a memory-mapped file, an image buffer) that keeps it alive.
///
/// Kernels work on contiguous row-major data (NCHW for images, [tokens, channels] for
/// sequences); ``reshaped(_:)`` of a contiguous tensor never copies.
public struct Tensor: @unchecked Sendable {
    public let shape: [Int]
    /// Element strides per dimension; row-major contiguous tensors have
    /// `strides[i] = shape[i+1] * strides[i+1]` and `strides.last == 1`.
    public let strides: [Int]
    let storage: TensorStorage
    let offset: Int

    init(shape: [Int], strides: [Int], storage: TensorStorage, offset: Int) {
        self.shape = shape
        self.strides = strides
        self.storage = storage
        self.offset = offset
    }

    /// A new tensor with its own zero-filled storage.
    public init(zeros shape: [Int]) {
        let count = Tensor.elementCount(shape)
        self.init(shape: shape, strides: Tensor.contiguousStrides(shape),
                  storage: TensorStorage(owning: count), offset: 0)
    }

    /// A new tensor owning a copy of `values` (row-major).
    public init(shape: [Int], values: [Float]) {
        precondition(values.count == Tensor.elementCount(shape),
                     "Tensor: \(values.count) values for shape \(shape)")
        self.init(zeros: shape)
        values.withUnsafeBufferPointer { if let base = $0.baseAddress { data.update(from: base, count: values.count) } }
    }

    /// A view of memory that the caller keeps alive (and unchanged, if it is shared) for as long
    /// as this tensor or any view of it is used. `owner` is retained to help with that.
    public init(borrowing pointer: UnsafeMutablePointer<Float>, shape: [Int], owner: AnyObject? = nil) {
        self.init(shape: shape, strides: Tensor.contiguousStrides(shape),
                  storage: TensorStorage(borrowing: pointer, count: Tensor.elementCount(shape), owner: owner),
                  offset: 0)
    }

    /// The number of elements.
    public var count: Int { Tensor.elementCount(shape) }
    public var rank: Int { shape.count }

    /// Pointer to the first element of the view.
    public var data: UnsafeMutablePointer<Float> { storage.base + offset }

    public var isContiguous: Bool { strides == Tensor.contiguousStrides(shape) }

    /// Whether this view covers memory the tensor allocated itself, whole and contiguous — not a
    /// mapped file, an arena chunk or a slice — so that its owner may write it in place.
    public var ownsAllItsStorage: Bool { storage.isOwned && offset == 0 && count == storage.count && isContiguous }

    /// The same data with another shape of equal element count; never copies.
    /// - Precondition: the tensor is contiguous.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(isContiguous, "reshaped: tensor is not contiguous")
        var newShape = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            newShape[inferred] = count / newShape.filter { $0 != -1 }.reduce(1, *)
        }
        precondition(Tensor.elementCount(newShape) == count, "reshaped: \(shape) -> \(newShape)")
        return Tensor(shape: newShape, strides: Tensor.contiguousStrides(newShape), storage: storage, offset: offset)
    }

    /// A view of `length` entries starting at `start` along dimension `dim`; never copies.
    public func slice(dim: Int, start: Int, length: Int) -> Tensor {
        precondition(start >= 0 && length >= 0 && start + length <= shape[dim], "slice out of range")
        var newShape = shape
        newShape[dim] = length
        return Tensor(shape: newShape, strides: strides, storage: storage, offset: offset + start * strides[dim])
    }

    /// The elements in row-major order (copies).
    public func toArray() -> [Float] {
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { if let base = $0.baseAddress { copyElements(to: base) } }
        return out
    }

    /// Copies the elements, in row-major order, to `destination` (which holds `count` floats).
    public func copyElements(to destination: UnsafeMutablePointer<Float>) {
        if isContiguous {
            destination.update(from: data, count: count)
            return
        }
        var index = [Int](repeating: 0, count: rank)
        for linear in 0..<count {
            var source = 0
            for d in 0..<rank { source += index[d] * strides[d] }
            destination[linear] = data[source]
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }

    static func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[d] = running
            running *= shape[d]
        }
        return strides
    }
}

/// The memory behind one or more tensor views.
final class TensorStorage: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
    let count: Int
    private let owned: Bool
    var isOwned: Bool { owned }
    /// Keeps borrowed memory (an arena chunk, a mapped file) alive while views exist.
    private let owner: AnyObject?

    init(owning count: Int) {
        base = .allocate(capacity: max(count, 1))
        base.initialize(repeating: 0, count: max(count, 1))
        self.count = count
        owned = true
        owner = nil
    }

    init(borrowing base: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject?) {
        self.base = base
        self.count = count
        owned = false
        self.owner = owner
    }

    deinit {
        if owned { base.deallocate() }
    }
}
