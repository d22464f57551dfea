import FoundationEssentials

/// What a sampling subcommand reports when it is done: a sentence, or JSON with --json.
struct Summary: Encodable {
    let task: String
    let output: [String]
    let seed: UInt64
    let seconds: Double

    func print(json: Bool) {
        if json, let data = try? JSONEncoder().encode(self), let text = String(data: data, encoding: .utf8) {
            Swift.print(text)
        } else {
            Swift.print("\(task): wrote \(output.joined(separator: ", ")) in \(duration(seconds)) (seed \(seed))")
        }
    }
}
