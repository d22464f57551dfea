/// A coding key for objects whose keys are data (tensor names, component names), read with
/// `container.allKeys` or built from a string.
struct NamedCodingKey: CodingKey {
    let stringValue: String
    init(stringValue: String) { self.stringValue = stringValue }
    var intValue: Int? { nil }
    init?(intValue: Int) { nil }
}
