// The peft LoraConfig that diffusers stores in a LoRA file's metadata: where PEFT-format files
// keep their alphas. Ground truth: diffusers' `_pack_dict_with_prefix` / `_load_sft_state_dict_metadata`
// (loaders/lora_base.py, utils/state_dict_utils.py) and peft's `get_pattern_key` (utils/other.py).
import FCSTensor

/// The LoRA settings diffusers ≥ 0.34 stores in a file's `__metadata__["lora_adapter_metadata"]`:
/// each component's peft `LoraConfig` as JSON, its fields prefixed with the component
/// (`"unet.lora_alpha"`, `"text_encoder.alpha_pattern"`). Files without it (kohya's, older
/// diffusers') carry alphas as tensors or have none (alpha = rank).
struct AdapterConfig: Sendable {
    struct Component: Sendable {
        var loraAlpha: Float?
        /// peft's per-module alphas, by module name relative to the component.
        var alphaPattern: [String: Float] = [:]
        var useRSLoRA = false
    }

    private var components: [LoRAKey.Component: Component] = [:]

    init(metadata: [String: String], source: String) throws(FCSError) {
        guard let json = metadata["lora_adapter_metadata"] else { return }
        let fields = try Array(json.utf8).withUnsafeBytes { raw in
            Result { () throws(FCSError) in try decodeJSON(Fields.self, from: raw, source: "\(source): lora_adapter_metadata") }
        }.get()
        for component in LoRAKey.Component.allCases {
            let prefix = component.rawValue + "."
            if fields.useDora[prefix] == true {
                throw .format("\(source): lora_adapter_metadata says \(prefix)use_dora; DoRA is not supported")
            }
            components[component] = Component(loraAlpha: fields.loraAlpha[prefix], alphaPattern: fields.alphaPattern[prefix] ?? [:],
                                              useRSLoRA: fields.useRSLoRA[prefix] ?? false)
        }
    }

    /// The alpha peft gives `module`: its `alpha_pattern` entry (a module name, or a name's
    /// last dotted parts, as peft's `get_pattern_key` matches them), else `lora_alpha`.
    func alpha(_ module: LoRAKey.Module) -> Float? {
        guard let component = components[module.component] else { return nil }
        let matches = component.alphaPattern.filter { pattern, _ in
            let flat = LoRAKey.Module(module.component, diffusersName: pattern).name
            return module.name == flat || module.name.hasSuffix("_" + flat)
        }
        // the longest pattern is the most specific
        return matches.max { $0.key.count < $1.key.count }?.value ?? component.loraAlpha
    }

    func usesRankStabilizedScaling(_ component: LoRAKey.Component) -> Bool {
        components[component]?.useRSLoRA ?? false
    }

    /// The fields of the metadata fcs uses, by component prefix; the others are ignored.
    private struct Fields: Decodable {
        var loraAlpha: [String: Float] = [:]
        var alphaPattern: [String: [String: Float]] = [:]
        var useRSLoRA: [String: Bool] = [:]
        var useDora: [String: Bool] = [:]

        typealias Key = NamedCodingKey

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            for component in LoRAKey.Component.allCases {
                let prefix = component.rawValue + "."
                func key(_ field: String) -> Key { Key(stringValue: prefix + field) }
                loraAlpha[prefix] = try container.decodeIfPresent(Float.self, forKey: key("lora_alpha"))
                alphaPattern[prefix] = try container.decodeIfPresent([String: Float].self, forKey: key("alpha_pattern"))
                useRSLoRA[prefix] = try container.decodeIfPresent(Bool.self, forKey: key("use_rslora"))
                useDora[prefix] = try container.decodeIfPresent(Bool.self, forKey: key("use_dora"))
            }
        }
    }
}
