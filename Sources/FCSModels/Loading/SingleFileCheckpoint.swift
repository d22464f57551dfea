import FCSTensor

/// The original single-file SD 1.x / 2.x checkpoint layout (CompVis/LDM and Stability key names),
/// mapped to the diffusers names the networks ask for, as diffusers' `convert_ldm_unet_checkpoint`,
/// `convert_ldm_vae_checkpoint`, `convert_ldm_clip_checkpoint` and `convert_open_clip_checkpoint`
/// map them (diffusers/loaders/single_file_utils.py). The committed manifests
/// (Tests/FCSModelsTests/Fixtures/manifest) check every one of SD 1.5's 1,130 names and SD 2.1's.
public enum SingleFileCheckpoint {
    /// The network a single-file key belongs to.
    public enum Component: String, Sendable, CaseIterable {
        case unet, vae, textEncoder = "text_encoder"

        /// The key prefixes of this component in the single file: SD 1.x's text encoder is
        /// OpenAI CLIP (`cond_stage_model.transformer.`), SD 2.x's OpenCLIP (`cond_stage_model.model.`).
        public var prefixes: [String] {
            switch self {
            case .unet: ["model.diffusion_model."]
            case .vae: ["first_stage_model."]
            case .textEncoder: [TextTower.openAI.prefix, TextTower.openCLIP.prefix]
            }
        }
    }

    /// The two text towers of SD checkpoints.
    public enum TextTower: Sendable {
        /// OpenAI CLIP ViT-L/14 (SD 1.x), in transformers' names under the prefix.
        case openAI
        /// OpenCLIP ViT-H/14 (SD 2.x): `transformer.resblocks.N.…`, fused q/k/v `in_proj`.
        case openCLIP

        public var prefix: String {
            switch self {
            case .openAI: "cond_stage_model.transformer."
            case .openCLIP: "cond_stage_model.model."
            }
        }
    }

    /// What a single-file key holds, in diffusers names.
    public enum Mapping: Equatable, Sendable {
        /// One diffusers tensor.
        case tensor(Component, String)
        /// Diffusers tensors stacked along the first axis, in order (OpenCLIP's `in_proj` holds q, k, v).
        case stacked(Component, [String])
        /// A network tensor SD's pipelines never use: SD 2.x's last OpenCLIP layer (it conditions
        /// on the penultimate one, which diffusers' config keeps as `num_hidden_layers` 23),
        /// `text_projection` and `logit_scale`.
        case unused
    }

    /// What the key `key` is, or nil for keys that are no network weight (EMA copies, the DDPM
    /// schedule buffers, `position_ids`, …) or that belong to a network but map to nothing.
    /// - Parameters:
    ///   - layersPerBlock: the UNet's `layers_per_block` (2 for SD 1.x and 2.x).
    ///   - vaeLevels: the VAE's number of blocks (`len(block_out_channels)`, 4 for SD 1.x and 2.x).
    ///   - textLayers: the text encoder's `num_hidden_layers` (an OpenCLIP layer past them is unused).
    public static func mapping(of key: String, layersPerBlock: Int = 2, vaeLevels: Int = 4, textLayers: Int = 12) -> Mapping? {
        func under(_ prefix: String) -> String? { key.hasPrefix(prefix) ? String(key.dropFirst(prefix.count)) : nil }
        if let name = under(Component.unet.prefixes[0]) {
            return unetName(name, layersPerBlock: layersPerBlock).map { .tensor(.unet, $0) }
        }
        if let name = under(Component.vae.prefixes[0]) {
            return vaeName(name, levels: vaeLevels).map { .tensor(.vae, $0) }
        }
        if let name = under(TextTower.openAI.prefix) {
            if name.hasSuffix("position_ids") { return nil }
            return .tensor(.textEncoder, name.hasPrefix("text_model.") ? name : "text_model." + name)
        }
        if let name = under(TextTower.openCLIP.prefix) { return openCLIPMapping(name, layers: textLayers) }
        return nil
    }

    /// The diffusers name of a key that maps to one tensor (see ``mapping(of:layersPerBlock:vaeLevels:textLayers:)``).
    public static func diffusersName(of key: String, layersPerBlock: Int = 2, vaeLevels: Int = 4) -> (Component, String)? {
        guard case .tensor(let component, let name) = mapping(of: key, layersPerBlock: layersPerBlock, vaeLevels: vaeLevels) else { return nil }
        return (component, name)
    }

    /// A reader that serves one component of a single-file checkpoint under diffusers names.
    /// Every key under the component's prefixes is the component's: one that maps to no diffusers
    /// name, or to a name another key has, is left unread, so that
    /// ``WeightReader/unreadTensors()`` reports it; ``Mapping/unused`` keys are skipped.
    public static func weights(_ file: SafeTensorsFile, component: Component, layersPerBlock: Int = 2,
                               vaeLevels: Int = 4, textLayers: Int = 12) -> WeightReader {
        var names: [String: String] = [:], parts: [String: WeightReader.TensorPart] = [:]
        var keys: [String] = []
        for key in file.names where component.prefixes.contains(where: key.hasPrefix) && !key.hasSuffix("position_ids") {
            let mapped = mapping(of: key, layersPerBlock: layersPerBlock, vaeLevels: vaeLevels, textLayers: textLayers)
            if mapped == .unused { continue }
            keys.append(key)
            switch mapped {
            case .tensor(let owner, let name) where owner == component && names[name] == nil && parts[name] == nil:
                names[name] = key
            case .stacked(let owner, let stacked) where owner == component && !stacked.contains(where: { names[$0] != nil || parts[$0] != nil }):
                for (index, name) in stacked.enumerated() { parts[name] = .init(key: key, index: index, count: stacked.count) }
            default:
                break
            }
        }
        let layout = component.prefixes.map { $0 + "…" }.joined(separator: " or ")
        return WeightReader(file: file, names: names, parts: parts, keys: keys, layout: "the \(component.rawValue) keys \(layout)")
    }

    /// OpenCLIP's text tower names (after `cond_stage_model.model.`) → transformers' CLIPTextModel
    /// names, as diffusers' `convert_open_clip_checkpoint` renames them.
    static func openCLIPMapping(_ name: String, layers: Int) -> Mapping? {
        let fixed = ["token_embedding.weight": "text_model.embeddings.token_embedding.weight",
                     "positional_embedding": "text_model.embeddings.position_embedding.weight",
                     "ln_final.weight": "text_model.final_layer_norm.weight", "ln_final.bias": "text_model.final_layer_norm.bias"]
        if let renamed = fixed[name] { return .tensor(.textEncoder, renamed) }
        if name == "text_projection" || name == "logit_scale" { return .unused }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 5, parts[0] == "transformer", parts[1] == "resblocks", let i = index(parts[2]) else { return nil }
        if i == layers { return .unused }  // the last layer: SD 2.x conditions on the penultimate
        guard i < layers else { return nil }
        let layer = "text_model.encoder.layers.\(i).", rest = parts[3...].joined(separator: ".")
        let renames = ["ln_1.weight": "layer_norm1.weight", "ln_1.bias": "layer_norm1.bias",
                       "ln_2.weight": "layer_norm2.weight", "ln_2.bias": "layer_norm2.bias",
                       "attn.out_proj.weight": "self_attn.out_proj.weight", "attn.out_proj.bias": "self_attn.out_proj.bias",
                       "mlp.c_fc.weight": "mlp.fc1.weight", "mlp.c_fc.bias": "mlp.fc1.bias",
                       "mlp.c_proj.weight": "mlp.fc2.weight", "mlp.c_proj.bias": "mlp.fc2.bias"]
        if let renamed = renames[rest] { return .tensor(.textEncoder, layer + renamed) }
        for kind in ["weight", "bias"] where rest == "attn.in_proj_" + kind {
            return .stacked(.textEncoder, ["q", "k", "v"].map { layer + "self_attn.\($0)_proj." + kind })
        }
        return nil
    }

    /// A block index in a key: plain digits, at most 4 of them (SD has 12 input blocks), so no
    /// arithmetic on it can overflow.
    private static func index(_ part: String) -> Int? {
        guard (1...4).contains(part.utf8.count), part.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return Int(part)
    }

    private static let resnetRenames = [
        "in_layers.0": "norm1", "in_layers.2": "conv1", "emb_layers.1": "time_emb_proj",
        "out_layers.0": "norm2", "out_layers.3": "conv2", "skip_connection": "conv_shortcut",
    ]

    /// `input_blocks.4.0.in_layers.0.weight` → `down_blocks.1.resnets.0.norm1.weight`, etc.
    static func unetName(_ key: String, layersPerBlock: Int) -> String? {
        guard layersPerBlock >= 1 else { return nil }  // (no such UNet; and it is a divisor below)
        let parts = key.split(separator: ".").map(String.init)
        func rest(from i: Int) -> String { parts[i...].joined(separator: ".") }
        func resnet(_ prefix: String, from i: Int) -> String? {
            guard i + 1 < parts.count else { return nil }
            let twoPart = parts[i] + "." + parts[i + 1]
            if let renamed = resnetRenames[twoPart] { return prefix + "." + renamed + "." + rest(from: i + 2) }
            if let renamed = resnetRenames[parts[i]] { return prefix + "." + renamed + "." + rest(from: i + 1) }
            return nil
        }
        switch parts.first {
        case "time_embed":
            guard parts.count == 3 else { return nil }
            return ["0": "time_embedding.linear_1", "2": "time_embedding.linear_2"][parts[1]].map { $0 + "." + parts[2] }
        case "time_embedding":  // an LCM-distilled UNet's guidance embedding, kept in diffusers' name (LDM has none)
            return key == "time_embedding.cond_proj.weight" ? key : nil
        case "out":
            guard parts.count == 3 else { return nil }
            return ["0": "conv_norm_out", "2": "conv_out"][parts[1]].map { $0 + "." + parts[2] }
        case "input_blocks":
            guard parts.count >= 4, let i = index(parts[1]), let sub = index(parts[2]) else { return nil }
            if i == 0 { return sub == 0 ? "conv_in." + rest(from: 3) : nil }
            let level = (i - 1) / (layersPerBlock + 1), j = (i - 1) % (layersPerBlock + 1)
            if j == layersPerBlock {  // the level's downsampler: input_blocks.N.0.op
                return parts[3] == "op" ? "down_blocks.\(level).downsamplers.0.conv." + rest(from: 4) : nil
            }
            return sub == 0 ? resnet("down_blocks.\(level).resnets.\(j)", from: 3)
                : sub == 1 ? "down_blocks.\(level).attentions.\(j)." + rest(from: 3) : nil
        case "middle_block":
            guard parts.count >= 4, let sub = index(parts[1]) else { return nil }
            return sub == 1 ? "mid_block.attentions.0." + rest(from: 2)
                : resnet("mid_block.resnets.\(sub / 2)", from: 2)
        case "output_blocks":
            guard parts.count >= 4, let i = index(parts[1]), let sub = index(parts[2]) else { return nil }
            let level = i / (layersPerBlock + 1), j = i % (layersPerBlock + 1)
            if sub == 0 { return resnet("up_blocks.\(level).resnets.\(j)", from: 3) }
            // after a plain up block the upsampler is sub-module 1, after one with attention 2
            if parts[3] == "conv" { return "up_blocks.\(level).upsamplers.0.conv." + rest(from: 4) }
            return sub == 1 ? "up_blocks.\(level).attentions.\(j)." + rest(from: 3) : nil
        default:
            return nil
        }
    }

    private static let vaeAttentionRenames = ["norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"]

    /// `decoder.up.3.block.0.nin_shortcut.weight` → `decoder.up_blocks.0.resnets.0.conv_shortcut.weight`, etc.
    static func vaeName(_ key: String, levels: Int) -> String? {
        let parts = key.split(separator: ".").map(String.init)
        func rest(from i: Int) -> String { parts[i...].joined(separator: ".").replacingNinShortcut() }
        guard let coder = parts.first else { return nil }
        if coder == "quant_conv" || coder == "post_quant_conv" { return key }
        guard coder == "encoder" || coder == "decoder", parts.count >= 3 else { return nil }
        switch parts[1] {
        case "conv_in", "conv_out": return key
        case "norm_out": return coder + ".conv_norm_out." + rest(from: 2)
        case "down", "up":
            guard parts.count >= 5, let i = index(parts[2]), i < levels else { return nil }
            let block = parts[1] == "down" ? "\(coder).down_blocks.\(i)" : "\(coder).up_blocks.\(levels - 1 - i)"
            switch parts[3] {
            case "block": return block + ".resnets." + rest(from: 4)
            case "downsample", "upsample": return block + (parts[3] == "downsample" ? ".downsamplers.0." : ".upsamplers.0.") + rest(from: 4)
            default: return nil
            }
        case "mid":
            switch parts[2] {
            case "block_1": return coder + ".mid_block.resnets.0." + rest(from: 3)
            case "block_2": return coder + ".mid_block.resnets.1." + rest(from: 3)
            case "attn_1":
                guard parts.count == 5, let renamed = vaeAttentionRenames[parts[3]] else { return nil }
                return coder + ".mid_block.attentions.0." + renamed + "." + parts[4]
            default: return nil
            }
        default: return nil
        }
    }
}

private extension String {
    func replacingNinShortcut() -> String {
        split(separator: ".", omittingEmptySubsequences: false).map { $0 == "nin_shortcut" ? "conv_shortcut" : String($0) }
            .joined(separator: ".")
    }
}
