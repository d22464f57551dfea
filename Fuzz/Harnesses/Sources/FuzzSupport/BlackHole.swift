/// Keeps the optimiser from deleting reads whose only purpose is to touch memory.
@inline(never)
public func blackHole<T>(_ value: T) {}
