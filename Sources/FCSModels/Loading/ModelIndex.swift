import FCSTensor

/// A diffusers folder's `model_index.json`: the pipeline class and, for each component folder,
/// the `[library, class]` that diffusers would load from it.
struct ModelIndex: ValidatedConfig {
    /// `_class_name`, e.g. `StableDiffusionPipeline`.
    var pipelineClass: String?
    /// Component name → its class (nil for a `[null, null]` entry, an absent component).
    var componentClasses: [String: String?] = [:]

    private typealias Key = NamedCodingKey

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if key.stringValue == "_class_name" {
                pipelineClass = try container.decode(String.self, forKey: key)
            } else if !key.stringValue.hasPrefix("_"), let entry = try? container.decode([String?].self, forKey: key) {
                // [library, class]; other fields (requires_safety_checker, …) are options
                guard entry.count == 2 else {
                    throw DecodingError.dataCorruptedError(forKey: key, in: container,
                                                           debugDescription: "has \(entry.count) entries; a component is [library, class]")
                }
                componentClasses[key.stringValue] = entry[1]
            }
        }
    }

    func validate(source: String) throws(FCSError) {}

    /// The folder's `model_index.json`.
    /// - Throws: `.io` / `.format` for a missing or malformed file.
    static func read(folder: String) throws(FCSError) -> ModelIndex {
        try decodeConfig(folder + "/model_index.json")
    }

    /// The class the index gives `component`, or nil if it has none.
    func className(of component: String) -> String? { componentClasses[component] ?? nil }

    /// Checks that each component has one of the classes fcs implements for it.
    /// - Throws: `.format` naming `source`, the component and the class.
    func require(_ classes: [String: [String]], source: String) throws(FCSError) {
        let check = ConfigCheck(source: source)
        for (component, supported) in classes.sorted(by: { $0.key < $1.key }) {
            try check.known(className(of: component), component, supported)
        }
    }
}
