// The key names of LoRA files, in the formats people have, reduced to the module they update.
// Ground truth: diffusers' `_convert_non_diffusers_lora_to_diffusers` and
// `convert_unet_state_dict_to_peft` (diffusers/loaders/lora_conversion_utils.py,
// utils/state_dict_utils.py), kohya-ss sd-scripts' networks/lora.py naming, and
// stable-diffusion.cpp's lora.hpp.

/// What one key of a LoRA file is: a factor (or the alpha) of the low-rank update of one
/// module's weight.
///
/// Every format reduces to kohya's spelling of the module — its diffusers name with `.` written
/// `_` (`down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q`) — because kohya's names
/// cannot be turned back into dotted ones (`to_q` or `to.q`?), while any dotted name can be
/// flattened. sd-scripts makes its names exactly so: `lora_unet_` + the module's diffusers
/// path with `.` → `_`.
struct LoRAKey: Hashable, Sendable {
    /// The network a LoRA key updates.
    enum Component: String, Sendable, CaseIterable {
        case unet, textEncoder = "text_encoder"
    }

    /// Which tensor of the update a key holds.
    enum Role: Sendable {
        /// `lora_A` / `lora_down`: `[rank, in]` or, for a convolution, `[rank, in, kh, kw]`.
        case down
        /// `lora_B` / `lora_up`: `[out, rank]` or `[out, rank, 1, 1]`.
        case up
        /// kohya's / diffusers' scalar `alpha`: the update is scaled by alpha / rank.
        case alpha
    }

    /// A module of a network, in kohya's flattened spelling.
    struct Module: Hashable, Sendable {
        let component: Component
        let name: String

        /// The module a layer reads as `diffusersName` (`down_blocks.0.resnets.0.conv1`).
        init(_ component: Component, diffusersName: String) {
            self.init(component, flattened: diffusersName.replacingDots())
        }

        init(_ component: Component, flattened: String) {
            self.component = component
            // A text encoder's weights may lack transformers' `text_model.` (fcs reads both, as
            // CLIPTextModel does); its LoRA keys have it.
            self.name = component == .textEncoder && flattened.hasPrefix("text_model_")
                ? String(flattened.dropFirst("text_model_".count)) : flattened
        }
    }

    let module: Module
    let role: Role

    /// kohya's prefixes (`lora_te1_` is SDXL's first text encoder, the one SD 1.x has).
    private static let kohyaPrefixes: [(String, Component)] = [
        ("lora_unet_", .unet), ("lora_te_", .textEncoder), ("lora_te1_", .textEncoder),
    ]

    /// kohya's suffixes: `lora_unet_<module>.lora_down.weight` etc.
    private static let kohyaRoles: [String: Role] = ["lora_down.weight": .down, "lora_up.weight": .up, "alpha": .alpha]

    /// The suffixes of diffusers' files: PEFT's (`lora_A`), the 0.2x `LoRACompatibleLinear` one
    /// (`lora.down`), kohya's spelling under a diffusers name, and the alpha.
    private static let diffusersRoles: [(String, Role)] = [
        (".lora_A.weight", .down), (".lora_B.weight", .up), (".lora.down.weight", .down), (".lora.up.weight", .up),
        (".lora_down.weight", .down), (".lora_up.weight", .up), (".alpha", .alpha),
    ]

    /// The attention-processor names of diffusers' first LoRA format (2023:
    /// `attn1.processor.to_q_lora.down.weight`, text encoder `self_attn.to_q_lora`,
    /// `mlp.fc1.lora_linear_layer`), after the role suffix's `.lora` is taken off as `_lora`.
    private static let processorRenames: [(String, String)] = [
        (".processor.to_q_lora", ".to_q"), (".processor.to_k_lora", ".to_k"), (".processor.to_v_lora", ".to_v"),
        (".processor.to_out_lora", ".to_out.0"),
        (".self_attn.to_q_lora", ".self_attn.q_proj"), (".self_attn.to_k_lora", ".self_attn.k_proj"),
        (".self_attn.to_v_lora", ".self_attn.v_proj"), (".self_attn.to_out_lora", ".self_attn.out_proj"),
        (".lora_linear_layer", ""),
    ]

    /// The module and role of a key, nil for keys that are no LoRA factor fcs knows.
    init?(_ key: String) {
        for (prefix, component) in Self.kohyaPrefixes where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            guard let dot = rest.firstIndex(of: "."), dot > rest.startIndex,
                  let role = Self.kohyaRoles[String(rest[rest.index(after: dot)...])] else { return nil }
            self.init(module: Module(component, flattened: String(rest[..<dot])), role: role)
            return
        }
        for component in Component.allCases where key.hasPrefix(component.rawValue + ".") {
            var name = String(key.dropFirst(component.rawValue.count + 1))
            // the processor format: `….to_q_lora.down.weight` / `….lora_linear_layer.up.weight`
            for factor in [".down.weight", ".up.weight"] {
                guard let (from, to) = Self.processorRenames.first(where: { name.hasSuffix($0.0 + factor) }) else { continue }
                name = name.dropLast(from.count + factor.count) + to + ".lora" + factor
            }
            guard let (suffix, role) = Self.diffusersRoles.first(where: { name.hasSuffix($0.0) }),
                  name.count > suffix.count else { return nil }
            self.init(module: Module(component, diffusersName: String(name.dropLast(suffix.count))), role: role)
            return
        }
        return nil
    }

    private init(module: Module, role: Role) {
        self.module = module
        self.role = role
    }

    /// Why a key no format has is refused, naming what it is when it is a known kind fcs does
    /// not merge.
    static func unsupportedReason(_ key: String) -> String {
        if key.hasSuffix("dora_scale") || key.contains("lora_magnitude_vector") { return "a DoRA magnitude (DoRA is not supported)" }
        if key.contains("hada_") || key.contains("lokr_") { return "a LyCORIS LoHa / LoKr factor (only LoRA and LoCon are supported)" }
        if key.contains("lora_mid") { return "a LyCORIS Tucker factor (only LoRA and LoCon are supported)" }
        if key.hasPrefix("lora_te2_") || key.hasPrefix("text_encoder_2.") { return "for a second text encoder (SDXL), which SD 1.x has not" }
        if key.hasSuffix(".bias") { return "a LoRA bias (lora_bias is not supported)" }
        return "no LoRA key (expected lora_unet_… / lora_te_… with .lora_down.weight, .lora_up.weight, .alpha, or unet.… / text_encoder.… with .lora_A.weight, .lora_B.weight, .lora.down.weight, .lora.up.weight, .alpha)"
    }
}

private extension String {
    func replacingDots() -> String { String(map { $0 == "." ? "_" : $0 }) }
}
