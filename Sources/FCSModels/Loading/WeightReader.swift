import FCSTensor

/// Hands a model's layers their float32 weights by diffusers / transformers name, checking each
/// shape, so a layer asks for `"q_proj.weight"` inside its own scope and never sees file
/// details.
public struct WeightReader: Sendable {
    let file: SafeTensorsFile
    let prefix: String
    /// diffusers name → key in the file, when the file uses another layout (a single-file checkpoint).
    let names: [String: String]?

    /// - Parameter names: diffusers name → file key, for files in another layout; nil when the
    ///   file's keys are the diffusers names.
    public init(file: SafeTensorsFile, prefix: String = "", names: [String: String]? = nil) {
        self.file = file
        self.prefix = prefix
        self.names = names
    }

    /// The reader for a sub-module: `scoped("encoder.layers.0")` reads `encoder.layers.0.…`.
    public func scoped(_ name: String) -> WeightReader {
        WeightReader(file: file, prefix: prefix + name + ".", names: names)
    }

    private func key(_ name: String) -> String? {
        names.map { $0[prefix + name] } ?? prefix + name
    }

    /// Whether the tensor `name` (relative to this scope) exists.
    public func contains(_ name: String) -> Bool { key(name).map(file.contains) ?? false }

    /// The tensor `name` (relative to this scope), which must have `shape`. A stored shape that
    /// differs only by trailing 1s is accepted (LDM checkpoints keep the VAE attention's
    /// projections as 1×1 convolutions, `[C, C, 1, 1]`, where diffusers has `[C, C]`).
    public func tensor(_ name: String, shape: [Int]) throws(FCSError) -> Tensor {
        guard let key = key(name), let info = file.info(key) else {
            throw .format("\(file.path): missing tensor \(prefix + name) (expected shape \(shape))")
        }
        var stored = info.shape
        while stored.count > shape.count && stored.last == 1 { stored.removeLast() }
        guard stored == shape else {
            throw .format("\(file.path): tensor \(key) has shape \(info.shape), expected \(shape)")
        }
        return try file.tensor(key).reshaped(shape)
    }

    /// `nn.Linear` weights `[out, in]` and bias `[out]`.
    public func linear(_ name: String, in inFeatures: Int, out outFeatures: Int, bias: Bool = true) throws(FCSError) -> Linear {
        Linear(weight: try tensor(name + ".weight", shape: [outFeatures, inFeatures]),
               bias: bias ? try tensor(name + ".bias", shape: [outFeatures]) : nil)
    }

    /// `nn.LayerNorm` weight and bias `[features]`.
    public func layerNorm(_ name: String, features: Int, eps: Float) throws(FCSError) -> LayerNorm {
        LayerNorm(weight: try tensor(name + ".weight", shape: [features]),
                  bias: try tensor(name + ".bias", shape: [features]), eps: eps)
    }
}
