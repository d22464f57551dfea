import FCSModels
import FCSTensor

/// The bytes of weights a loaded network holds, by kind of layer: found by walking its stored
/// properties (reflection, so no layer has to report itself), each storage counted once.
struct HeldWeights {
    /// Bytes per kind of layer ("3×3 conv, Winograd", "linear", …).
    private(set) var bytes: [String: Int] = [:]
    private var seen: Set<ObjectIdentifier> = []

    init(_ network: Any) {
        visit(network, kind: "norms, biases, embeddings")
    }

    var total: Int { bytes.values.reduce(0, +) }

    private mutating func visit(_ value: Any, kind: String) {
        var kind = kind
        switch value {
        case let weights as StoredWeights:
            if seen.insert(ObjectIdentifier(weights)).inserted { bytes[kind, default: 0] += weights.bytes }
            return
        case let tensor as Tensor:
            // a tensor's storage object is its only reference-type property
            let storage = Mirror(reflecting: tensor).children.first { type(of: $0.value) is AnyClass }.map { ObjectIdentifier($0.value as AnyObject) }
            if let storage, seen.insert(storage).inserted {
                bytes[tensor.ownsAllItsStorage ? kind : "views of the checkpoint file", default: 0] += tensor.count * MemoryLayout<Float>.stride
            }
            return
        case let conv as Conv2d:
            kind = conv.kernelHeight == 1 && conv.kernelWidth == 1 ? "1×1 conv"
                : "\(conv.kernelHeight)×\(conv.kernelWidth) conv, \(conv.algorithm.winogradOutputTile != nil ? "Winograd" : "implicit GEMM")"
        case is Linear:
            kind = "linear"
        default:
            break
        }
        for child in Mirror(reflecting: value).children { visit(child.value, kind: kind) }
    }
}
