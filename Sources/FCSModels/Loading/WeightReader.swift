import FCSTensor

/// Hands a model's layers their float32 weights by diffusers / transformers name, checking each
/// shape, so a layer asks for `"q_proj.weight"` inside its own scope and never sees file
/// details.
public struct WeightReader: Sendable {
    let file: SafeTensorsFile
    let prefix: String

    public init(file: SafeTensorsFile, prefix: String = "") {
        self.file = file
        self.prefix = prefix
    }

    /// The reader for a sub-module: `scoped("encoder.layers.0")` reads `encoder.layers.0.…`.
    public func scoped(_ name: String) -> WeightReader {
        WeightReader(file: file, prefix: prefix + name + ".")
    }

    /// Whether the tensor `name` (relative to this scope) exists.
    public func contains(_ name: String) -> Bool { file.contains(prefix + name) }

    /// The tensor `name` (relative to this scope), which must have `shape`.
    public func tensor(_ name: String, shape: [Int]) throws(FCSError) -> Tensor {
        let fullName = prefix + name
        guard let info = file.info(fullName) else {
            throw .format("\(file.path): missing tensor \(fullName) (expected shape \(shape))")
        }
        guard info.shape == shape else {
            throw .format("\(file.path): tensor \(fullName) has shape \(info.shape), expected \(shape)")
        }
        return try file.tensor(fullName)
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
