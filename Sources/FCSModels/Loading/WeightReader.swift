import FCSTensor

/// Hands a model's layers their float32 weights by diffusers / transformers name, checking each
/// shape, so a layer asks for `"q_proj.weight"` inside its own scope and never sees file
/// details.
public struct WeightReader: Sendable {
    enum Source: Sendable {
        /// A safetensors file, in diffusers names or (a single-file checkpoint) mapped to them.
        case file(SafeTensorsFile, mapping: KeyMapping?)
        /// Seeded uniform values of whatever shape is asked for (benchmarks: full-size models
        /// without a file).
        case random(seed: UInt64, scale: Float)
    }

    let source: Source
    let prefix: String
    /// How the layers built through this reader keep their weights.
    public let precision: WeightPrecision
    /// The keys read so far, shared by every scoped copy, for ``unreadTensors()``.
    private let readKeys: ReadKeys
    /// The LoRAs merged into the weights this reader hands out, and the network they are read as.
    private let loras: (merge: LoRAMerge, component: LoRAKey.Component)?

    /// How a file in another layout serves diffusers names.
    struct KeyMapping: Sendable {
        /// diffusers name → file key.
        let names: [String: String]
        /// diffusers name → the part of a file tensor that holds it, for tensors the file keeps
        /// stacked (OpenCLIP's fused `in_proj` of q, k and v).
        var parts: [String: TensorPart] = [:]
        /// The file keys this reader answers for: those no layer reads are ``unreadTensors()``.
        let keys: [String]
        /// What messages call the keys (e.g. "the unet keys model.diffusion_model.…").
        let layout: String?
    }

    /// Part `index` of `count` equal parts along the first axis of the file tensor `key`.
    struct TensorPart: Sendable, Equatable {
        let key: String
        let index: Int
        let count: Int
    }

    /// Collects the file keys the layers asked for (model construction is single-threaded).
    final class ReadKeys: @unchecked Sendable {
        var keys: Set<String> = []
    }

    /// - Parameter names: diffusers name → file key, for files in another layout; nil when the
    ///   file's keys are the diffusers names.
    public init(file: SafeTensorsFile, prefix: String = "", names: [String: String]? = nil) {
        self.init(source: .file(file, mapping: names.map { KeyMapping(names: $0, keys: Array($0.values), layout: nil) }),
                  prefix: prefix, precision: .float32)
    }

    /// A reader over the part of `file` that is `keys`, served under diffusers names by `names`.
    /// - Parameter layout: what messages call those keys.
    init(file: SafeTensorsFile, names: [String: String], parts: [String: TensorPart] = [:], keys: [String], layout: String) {
        self.init(source: .file(file, mapping: KeyMapping(names: names, parts: parts, keys: keys, layout: layout)), prefix: "",
                  precision: .float32)
    }

    /// Random weights, uniform in ±`scale`·√3 (standard deviation `scale`), seeded per tensor
    /// name, so a model of any config can be built and timed without a checkpoint.
    public static func random(seed: UInt64, scale: Float = 0.02) -> WeightReader {
        WeightReader(source: .random(seed: seed, scale: scale), prefix: "", precision: .float32)
    }

    private init(source: Source, prefix: String, precision: WeightPrecision, readKeys: ReadKeys = ReadKeys(),
                 loras: (merge: LoRAMerge, component: LoRAKey.Component)? = nil) {
        self.source = source
        self.prefix = prefix
        self.precision = precision
        self.readKeys = readKeys
        self.loras = loras
    }

    /// The same reader, building layers that keep their weights in `precision`.
    public func storing(_ precision: WeightPrecision) -> WeightReader {
        WeightReader(source: source, prefix: prefix, precision: precision, readKeys: readKeys, loras: loras)
    }

    /// The reader for a sub-module: `scoped("encoder.layers.0")` reads `encoder.layers.0.…`.
    public func scoped(_ name: String) -> WeightReader {
        WeightReader(source: source, prefix: prefix + name + ".", precision: precision, readKeys: readKeys, loras: loras)
    }

    /// The same reader, handing out weights with the updates of `merge` for `component` added.
    func merging(_ merge: LoRAMerge, as component: LoRAKey.Component) -> WeightReader {
        WeightReader(source: source, prefix: prefix, precision: precision, readKeys: readKeys, loras: (merge, component))
    }

    /// The tensors of the file (of this component, for a single-file checkpoint) that no layer
    /// has read: after building a model, anything here means the file is not the model the
    /// config describes.
    public func unreadTensors() -> [String] {
        guard case .file(let file, let mapping) = source else { return [] }
        return (mapping?.keys ?? file.names).filter { !readKeys.keys.contains($0) }.sorted()
    }

    /// Whether the tensor `name` (relative to this scope) exists.
    public func contains(_ name: String) -> Bool {
        switch source {
        case .file(let file, let mapping): key(prefix + name, in: mapping).map(file.contains) ?? false
        case .random: false
        }
    }

    /// The tensor `name` (relative to this scope), which must have `shape`. A stored shape that
    /// differs only by trailing 1s is accepted (LDM checkpoints keep the VAE attention's
    /// projections as 1×1 convolutions, `[C, C, 1, 1]`, where diffusers has `[C, C]`).
    /// With LoRAs (``merging(_:as:)``), a `….weight` comes with their updates added.
    public func tensor(_ name: String, shape: [Int]) throws(FCSError) -> Tensor {
        let stored = switch source {
        case .random(let seed, let scale): randomTensor(name: prefix + name, shape: shape, seed: seed, scale: scale)
        case .file(let file, let mapping): try fileTensor(file, mapping: mapping, name: prefix + name, shape: shape)
        }
        guard let loras else { return stored }
        return try loras.merge.merge(stored, name: prefix + name, component: loras.component)
    }

    /// The file key of the diffusers name `name`, nil if the mapping has none.
    private func key(_ name: String, in mapping: KeyMapping?) -> String? {
        guard let mapping else { return name }
        return mapping.names[name] ?? mapping.parts[name]?.key
    }

    private func randomTensor(name: String, shape: [Int], seed: UInt64, scale: Float) -> Tensor {
        // FNV-1a of the name: each tensor has its own stream, whatever order layers ask in
        var generator = NormalGenerator(seed: name.utf8.reduce(seed ^ 0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 })
        let t = Tensor(zeros: shape), range = scale * Float(3).squareRoot()
        for i in 0..<t.count {
            t.data[i] = (Float(generator.nextWord() >> 40) * 0x1p-24 * 2 - 1) * range
        }
        return t
    }

    private func fileTensor(_ file: SafeTensorsFile, mapping: KeyMapping?, name: String, shape: [Int]) throws(FCSError) -> Tensor {
        guard let key = key(name, in: mapping), let info = file.info(key) else {
            let whereLooked = mapping?.layout.map { "; none of \($0) maps to it" } ?? ""
            throw .format("\(file.path): missing tensor \(name) (expected shape \(shape)\(whereLooked))")
        }
        var stored = info.shape
        while stored.count > shape.count && stored.last == 1 { stored.removeLast() }
        let part = mapping?.parts[name]
        let expected = part.map { [$0.count * (shape.first ?? 0)] + shape.dropFirst() } ?? shape
        guard stored == expected else {
            let diffusersName = key == name ? "" : " (\(name)\(part.map { ", part \($0.index + 1) of \($0.count)" } ?? ""))"
            throw .format("\(file.path): tensor \(key)\(diffusersName) has shape \(info.shape), expected \(expected)")
        }
        readKeys.keys.insert(key)
        let whole = try file.tensor(key)
        guard let part else { return whole.reshaped(shape) }
        let count = whole.count / part.count
        let slice = Tensor(zeros: shape)
        slice.data.update(from: whole.data + part.index * count, count: count)
        return slice
    }

    /// `nn.Linear` weights `[out, in]` and bias `[out]`.
    public func linear(_ name: String, in inFeatures: Int, out outFeatures: Int, bias: Bool = true) throws(FCSError) -> Linear {
        Linear(weight: try tensor(name + ".weight", shape: [outFeatures, inFeatures]),
               bias: bias ? try tensor(name + ".bias", shape: [outFeatures]) : nil, precision: precision)
    }

    /// `nn.Conv2d` weights `[out, in, k, k]` and, unless `bias` is false, bias `[out]`.
    public func conv2d(_ name: String, in inChannels: Int, out outChannels: Int, kernel: Int, stride: Int = 1,
                       padding: Conv2d.Padding, bias: Bool = true, algorithm: Conv2d.Algorithm = .automatic) throws(FCSError) -> Conv2d {
        Conv2d(weight: try tensor(name + ".weight", shape: [outChannels, inChannels, kernel, kernel]),
               bias: bias ? try tensor(name + ".bias", shape: [outChannels]) : nil, stride: stride, padding: padding,
               algorithm: algorithm, precision: precision)
    }

    /// `nn.LayerNorm` weight and bias `[features]`.
    public func layerNorm(_ name: String, features: Int, eps: Float) throws(FCSError) -> LayerNorm {
        LayerNorm(weight: try tensor(name + ".weight", shape: [features]),
                  bias: try tensor(name + ".bias", shape: [features]), eps: eps)
    }
}
