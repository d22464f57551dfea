// A LoRA file read into the low-rank updates it holds, one per module, each with its scaling.
// Ground truth: diffusers' `StableDiffusionLoraLoaderMixin.lora_state_dict` / `load_lora_weights`
// (diffusers/loaders/lora_pipeline.py), `get_peft_kwargs` (utils/peft_utils.py) and peft's
// `LoraLayer.update_layer` (scaling = lora_alpha / r, or lora_alpha / √r with rsLoRA).
import FCSTensor

/// A LoRA file to merge into a model at load, with the weight of its update:
/// W' = W + scale · (alpha / rank) · up · down (diffusers' `fuse_lora(lora_scale:)`).
public struct LoRAReference: Sendable, Hashable {
    /// A `.safetensors` LoRA in diffusers / PEFT or kohya format.
    public var path: String
    /// diffusers' `lora_scale`: 1 applies the update as trained, 0 not at all.
    public var scale: Float

    public init(path: String, scale: Float = 1) {
        self.path = path
        self.scale = scale
    }
}

/// The low-rank updates of one LoRA file, validated: every key belongs to an update, each update
/// has both factors and shapes that multiply.
public struct LoRA: Sendable {
    /// One module's update: `up · down` scaled by ``scaling``.
    struct Update: Sendable {
        /// `[rank, in]` or `[rank, in, kh, kw]`.
        let down: Tensor
        /// `[out, rank]` or `[out, rank, 1, 1]`.
        let up: Tensor
        /// alpha / rank (alpha / √rank with rsLoRA); 1 when the file gives no alpha.
        let scaling: Float
        /// The file key of the down factor, for messages.
        let downKey: String

        var rank: Int { down.shape[0] }
        var outFeatures: Int { up.shape[0] }
        /// The number of weights per output: `in · kh · kw`.
        var inElements: Int { down.count / rank }
    }

    public let path: String
    let updates: [LoRAKey.Module: Update]

    /// Reads and validates the LoRA file at `path`.
    /// - Throws: `.io` if it cannot be read; `.format` naming the key for a key that is no LoRA
    ///   factor, an update missing a factor, factors whose shapes do not multiply, a bad alpha,
    ///   or a file that is not valid safetensors.
    public init(path: String) throws(FCSError) {
        let file = try SafeTensorsFile(path: path)
        self.path = path
        let config = try AdapterConfig(metadata: file.metadata, source: path)
        var factors: [LoRAKey.Module: [LoRAKey.Role: String]] = [:]
        for key in file.names {
            guard let parsed = LoRAKey(key) else {
                throw .format("\(path): key \(key) is \(LoRAKey.unsupportedReason(key))")
            }
            if let other = factors[parsed.module]?[parsed.role] {
                throw .format("\(path): keys \(other) and \(key) are the same factor of one module")
            }
            factors[parsed.module, default: [:]][parsed.role] = key
        }
        guard !factors.isEmpty else { throw .format("\(path): holds no tensors, so no LoRA") }
        var updates: [LoRAKey.Module: Update] = [:]
        for (module, keys) in factors {
            guard let downKey = keys[.down], let upKey = keys[.up] else {
                let present = keys.values.sorted().joined(separator: ", ")
                throw .format("\(path): \(present) has no \(keys[.down] == nil ? "down (lora_A / lora_down)" : "up (lora_B / lora_up)") factor beside it")
            }
            let down = try file.tensor(downKey), up = try file.tensor(upKey)
            guard down.rank == 2 || down.rank == 4, down.shape[0] >= 1, down.count > 0 else {
                throw .format("\(path): \(downKey) has shape \(down.shape); a down factor is [rank, in] or [rank, in, kh, kw]")
            }
            let rank = down.shape[0]
            guard (up.rank == 2 || up.rank == 4), up.shape[1] == rank, up.shape[2...].allSatisfy({ $0 == 1 }), up.shape[0] >= 1 else {
                throw .format("\(path): \(upKey) has shape \(up.shape); with \(downKey) of shape \(down.shape) it must be [out, \(rank)] or [out, \(rank), 1, 1]")
            }
            var alpha: Float?
            if let alphaKey = keys[.alpha] {
                let value = try file.tensor(alphaKey)
                guard value.count == 1, value.data[0].isFinite else {
                    throw .format("\(path): \(alphaKey) must be one finite number, not a tensor of shape \(value.shape)")
                }
                alpha = value.data[0]
            }
            let resolvedAlpha = alpha ?? config.alpha(module) ?? Float(rank)
            let scaling = config.usesRankStabilizedScaling(module.component)
                ? resolvedAlpha / Float(rank).squareRoot() : resolvedAlpha / Float(rank)
            // contiguous 2-D views: the merge is one GEMM, up [out, r] · down [r, in·kh·kw]
            updates[module] = Update(down: down.reshaped([rank, down.count / rank]), up: up.reshaped([up.shape[0], rank]),
                                     scaling: scaling, downKey: downKey)
        }
        self.updates = updates
    }
}
