// One-line accounts of JSONDecoder's errors, naming the field, for the messages about config
// files and safetensors headers.

extension DecodingError {
    /// The field the error is about (`block_out_channels[2]`; empty for the whole document)
    /// and what is wrong with it, for one-line messages.
    var fieldAndProblem: (field: String, problem: String) {
        guard let (context, problem) = contextAndProblem else { return ("", "not valid JSON") }
        // the decoder's own words for a document it cannot parse at all
        let unparsable = context.codingPath.isEmpty && problem.contains("not valid JSON")
        return (Self.fieldPath(context.codingPath), unparsable ? "not valid JSON" : problem)
    }

    /// Where the decoder was and a one-line account of the problem; nil for an unknown case.
    var contextAndProblem: (context: Context, problem: String)? {
        switch self {
        case .keyNotFound(let key, let c): (c, "\"\(key.stringValue)\" is missing")
        case .valueNotFound(_, let c): (c, "value is null")
        case .typeMismatch(_, let c), .dataCorrupted(let c): (c, c.debugDescription)
        @unknown default: nil
        }
    }

    /// A coding path as `a.b[2]`.
    static func fieldPath(_ keys: some Sequence<any CodingKey>) -> String {
        keys.reduce("") { path, key in path + (key.intValue.map { "[\($0)]" } ?? (path.isEmpty ? "" : ".") + key.stringValue) }
    }
}
