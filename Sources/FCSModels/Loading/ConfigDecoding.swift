// Reading diffusers / transformers config.json files: decoding that names the field whose value
// is wrong, then the config's own validation, so a corrupt download is one readable FCSError.
import FCSTensor
import FoundationEssentials

/// Configs that check their values before any layer is built from them.
protocol ValidatedConfig: Decodable {
    /// - Parameter source: what messages call the config (its file's path, when it has one).
    /// - Throws: `.format` naming `source`, the field and the rule or limit it breaks.
    func validate(source: String) throws(FCSError)
}

/// The config in the JSON file at `path`, decoded and validated.
func decodeConfig<Config: ValidatedConfig>(_ path: String) throws(FCSError) -> Config {
    let config = try decodeJSONFile(Config.self, path: path)
    try config.validate(source: path)
    return config
}

/// The small JSON file at `path` (at most `ConfigLimits.maxFileBytes`) decoded as `T`, as
/// ``decodeJSON(_:from:source:)`` decodes (`package`: the fcs command reads its own JSON inputs,
/// such as `fcs bench models --peer`'s, the same way).
/// - Throws: `.io` when it cannot be read, `.format` naming `path` and, where known, the field.
package func decodeJSONFile<T: Decodable>(_ type: T.Type, path: String) throws(FCSError) -> T {
    let bytes = try readFile(path, limit: ConfigLimits.maxFileBytes)
    return try bytes.withUnsafeBytes { raw in
        Result { () throws(FCSError) in try decodeJSON(T.self, from: raw, source: path) }
    }.get()
}

/// The config in `json`, decoded and validated; `source` names it in messages.
func decodeConfig<Config: ValidatedConfig>(_ json: UnsafeRawBufferPointer, source: String) throws(FCSError) -> Config {
    let config = try decodeJSON(Config.self, from: json, source: source)
    try config.validate(source: source)
    return config
}

/// `json` decoded as `T`. JSON5 is accepted because Python's `json` writes `NaN` and
/// `Infinity` bare: they decode, so that validation can name the field that holds them.
/// - Throws: `.format` naming `source` and, where the decoder knows it, the field.
func decodeJSON<T: Decodable>(_ type: T.Type, from json: UnsafeRawBufferPointer, source: String) throws(FCSError) -> T {
    // Foundation's JSON5 scanner traps on keys that are not UTF-8: refuse such bytes first
    guard String(validating: json, as: UTF8.self) != nil else { throw .format("\(source): not valid UTF-8 text") }
    let decoder = JSONDecoder()
    decoder.allowsJSON5 = true
    do {
        return try decoder.decode(T.self, from: Data(json))
    } catch let error as DecodingError {
        let (field, problem) = error.fieldAndProblem
        throw .format("\(source): " + (field.isEmpty ? "" : "\(field): ") + problem)
    } catch {
        throw .format("\(source): not valid JSON")
    }
}

extension KeyedDecodingContainer {
    /// An integer field, nil when absent or null. Decoding `Int` directly reports `2.5` or
    /// `1e30` as "not valid JSON" with no location; this names the field and the value.
    func integer(_ key: Key) throws -> Int? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        if let value = try? decode(Int.self, forKey: key) { return value }
        throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: notAnInteger(try? decode(Double.self, forKey: key)))
    }

    /// A list of integers, or (where `allowsSingle`, as several diffusers fields do) one
    /// integer; nil when absent or null.
    func integers(_ key: Key, allowsSingle: Bool = true) throws -> [Int]? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        guard var list = try? nestedUnkeyedContainer(forKey: key) else {
            guard allowsSingle else { return try decode([Int].self, forKey: key) }  // throws, naming the field
            return try integer(key).map { [$0] }
        }
        var values: [Int] = []
        while !list.isAtEnd {
            guard let value = try? list.decode(Int.self) else {
                throw DecodingError.dataCorrupted(.init(codingPath: codingPath + [key, ListIndex(values.count)],
                                                        debugDescription: notAnInteger(try? list.decode(Double.self))))
            }
            values.append(value)
        }
        return values
    }

    /// Refuses the config of another class: `key` (`_class_name`, `model_type`), where
    /// present, must be `expected`.
    func requireClass(_ expected: String, _ key: Key) throws {
        guard let name = try decodeIfPresent(String.self, forKey: key), name != expected else { return }
        throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "is \"\(name)\"; this file must describe a \(expected)")
    }

    /// A float field, nil when absent or null; `NaN` and `Infinity` decode (validation refuses them).
    func float(_ key: Key) throws -> Float? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        if let value = try? decode(Float.self, forKey: key) { return value }
        let number = try? decode(Double.self, forKey: key)
        throw DecodingError.dataCorruptedError(forKey: key, in: self,
                                               debugDescription: number.map { "\($0) does not fit in a float" } ?? "not a number")
    }

    /// A float field kept in double precision (β schedules are built in float64), nil when absent or null.
    func double(_ key: Key) throws -> Double? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        if let value = try? decode(Double.self, forKey: key) { return value }
        throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "not a number")
    }
}

/// The problem with a value that should be an integer; `number` is its value if it is a number.
private func notAnInteger(_ number: Double?) -> String {
    number.map { "\($0) is not an integer" } ?? "is not an integer (a string, list, object or boolean)"
}

/// A list position in a coding path.
private struct ListIndex: CodingKey {
    let intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}
