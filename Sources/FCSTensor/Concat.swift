/// `torch.cat(tensors, dim=1)` for `[N, C_i, ...]` tensors with equal other dimensions.
public func concatChannels(_ tensors: [Tensor], in arena: ScratchArena) -> Tensor {
    let timing = OperationProfile.start(.elementwise)
    defer { timing.stop() }
    precondition(!tensors.isEmpty && tensors.allSatisfy { $0.isContiguous && $0.rank >= 2 }, "concatChannels: bad inputs")
    let first = tensors[0]
    let inner = first.count / (first.shape[0] * first.shape[1])
    precondition(tensors.allSatisfy { $0.shape[0] == first.shape[0] && Array($0.shape.dropFirst(2)) == Array(first.shape.dropFirst(2)) },
                 "concatChannels: shapes differ outside dim 1: \(tensors.map(\.shape))")
    let channels = tensors.reduce(0) { $0 + $1.shape[1] }
    var shape = first.shape
    shape[1] = channels
    let out = arena.tensor(shape)
    for n in 0..<first.shape[0] {
        var offset = n * channels * inner
        for t in tensors {
            let block = t.shape[1] * inner
            (out.data + offset).update(from: t.data + n * block, count: block)
            offset += block
        }
    }
    return out
}
