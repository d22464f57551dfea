import FCSTensor

/// The original single-file SD 1.x checkpoint layout (CompVis/LDM key names), mapped to the
/// diffusers names the networks ask for, as diffusers' `convert_ldm_unet_checkpoint`,
/// `convert_ldm_vae_checkpoint` and `convert_ldm_clip_checkpoint` map them
/// (diffusers/loaders/single_file_utils.py). The committed manifest
/// (Tests/FCSModelsTests/Fixtures/manifest) checks every one of SD 1.5's 1,130 names.
public enum SingleFileCheckpoint {
    /// The network a single-file key belongs to.
    public enum Component: String, Sendable, CaseIterable {
        case unet, vae, textEncoder = "text_encoder"

        /// The key prefix of this component in the single file.
        public var prefix: String {
            switch self {
            case .unet: "model.diffusion_model."
            case .vae: "first_stage_model."
            case .textEncoder: "cond_stage_model.transformer."
            }
        }
    }

    /// The diffusers name of a single-file key, or nil for keys that are no network weight
    /// (EMA copies, the DDPM schedule buffers, `position_ids`, …).
    /// - Parameters:
    ///   - layersPerBlock: the UNet's `layers_per_block` (2 for SD 1.x).
    ///   - vaeLevels: the VAE's number of blocks (`len(block_out_channels)`, 4 for SD 1.x).
    public static func diffusersName(of key: String, layersPerBlock: Int = 2, vaeLevels: Int = 4) -> (Component, String)? {
        if key.hasPrefix(Component.unet.prefix) {
            return unetName(String(key.dropFirst(Component.unet.prefix.count)), layersPerBlock: layersPerBlock).map { (.unet, $0) }
        }
        if key.hasPrefix(Component.vae.prefix) {
            return vaeName(String(key.dropFirst(Component.vae.prefix.count)), levels: vaeLevels).map { (.vae, $0) }
        }
        if key.hasPrefix(Component.textEncoder.prefix) {
            let name = String(key.dropFirst(Component.textEncoder.prefix.count))
            if name.hasSuffix("position_ids") { return nil }
            return (.textEncoder, name.hasPrefix("text_model.") ? name : "text_model." + name)
        }
        return nil
    }

    /// A reader that serves one component of a single-file checkpoint under diffusers names.
    /// Every key under the component's prefix is the component's: one that maps to no diffusers
    /// name, or to a name another key has, is left unread, so that
    /// ``WeightReader/unreadTensors()`` reports it.
    public static func weights(_ file: SafeTensorsFile, component: Component, layersPerBlock: Int = 2,
                               vaeLevels: Int = 4) -> WeightReader {
        var names: [String: String] = [:]
        var keys: [String] = []
        for key in file.names where key.hasPrefix(component.prefix) && !key.hasSuffix("position_ids") {
            keys.append(key)
            if let (owner, name) = diffusersName(of: key, layersPerBlock: layersPerBlock, vaeLevels: vaeLevels), owner == component,
               names[name] == nil {
                names[name] = key
            }
        }
        return WeightReader(file: file, names: names, keys: keys, layout: "the \(component.rawValue) keys \(component.prefix)…")
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
