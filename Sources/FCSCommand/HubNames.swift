/// Checks on every name that `fcs fetch` turns into a path in the hub cache: the repository and
/// revision a user passes, and the commit sha, file names and ETags a server sends. A server
/// (HF_ENDPOINT, a mirror, anything answering for the hub) is not trusted: a name that climbs
/// out of the cache (`..`, an absolute path) would make fcs write wherever the user can.
enum HubNames {
    /// `ORG/NAME` as the hub allows them (huggingface_hub's validate_repo_id, with the
    /// organisation required): letters, digits, `_`, `.`, `-`, each part 1…96 long, starting and
    /// ending with a letter, digit or `_`, and no `--` or `..` (`--` separates the parts in the
    /// cache's folder name).
    static func checkRepository(_ repository: String) throws {
        let parts = repository.split(separator: "/", omittingEmptySubsequences: false)
        let valid = parts.count == 2 && parts.allSatisfy { part in
            let bytes = Array(part.utf8)
            let isWordByte = { (byte: UInt8) in isASCIIAlphanumeric(byte) || byte == UInt8(ascii: "_") }
            return (1...96).contains(bytes.count) && bytes.allSatisfy { isWordByte($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
                && isWordByte(bytes[0]) && isWordByte(bytes[bytes.count - 1]) && !part.contains("--") && !part.contains("..")
        }
        guard valid else {
            throw CommandFailure("\(quoted(repository)) is not a hub model name: expected ORG/NAME, each part 1 to 96 letters, digits, '_', '.' or '-', without '--' or '..'")
        }
    }

    /// A branch, tag or commit: a relative path (it names the file `refs/<revision>`).
    static func checkRevision(_ revision: String) throws {
        if let problem = relativePathProblem(revision) {
            throw CommandFailure("\(quoted(revision)) is not a usable revision: \(problem)")
        }
    }

    /// The commit a model description names: exactly 40 hex digits (it names `snapshots/<sha>`).
    static func checkCommit(_ sha: String, from url: String) throws {
        let bytes = Array(sha.utf8)
        guard bytes.count == 40, bytes.allSatisfy(isASCIIHexDigit) else {
            throw CommandFailure("\(url): the server sent the commit sha \(quoted(sha)), not 40 hex digits; refusing it")
        }
    }

    /// A file name from a model description (it names `snapshots/<sha>/<file>`).
    static func checkFileName(_ name: String, from url: String) throws {
        if let problem = relativePathProblem(name) {
            throw CommandFailure("\(url): the server sent the file name \(quoted(name)), \(problem); refusing it")
        }
    }

    /// An ETag without its quotes and `W/` (it names `blobs/<etag>`): 1…128 letters, digits and `-`.
    static func checkETag(_ etag: String, from url: String) throws {
        let bytes = Array(etag.utf8)
        guard (1...128).contains(bytes.count), bytes.allSatisfy({ isASCIIAlphanumeric($0) || $0 == UInt8(ascii: "-") }) else {
            throw CommandFailure("\(url): the server sent the ETag \(quoted(etag)), not 1 to 128 letters, digits and '-'; refusing it")
        }
    }

    /// Why `path` is not a plain relative path below a folder, or nil when it is.
    static func relativePathProblem(_ path: String) -> String? {
        if path.isEmpty { return "an empty name" }
        if path.hasPrefix("/") { return "an absolute path" }
        if path.contains("\\") { return "a name with a backslash" }
        if path.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { return "a name with control characters" }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        if components.contains(where: { $0 == ".." }) { return "a path with a '..' component" }
        if components.contains(where: { $0.isEmpty || $0 == "." }) { return "a path with an empty or '.' component" }
        return nil
    }

    /// `value` for an error message: quoted, control characters escaped (the message stays one
    /// line), cut after 100 characters (a server may send anything).
    static func quoted(_ value: String) -> String {
        var text = ""
        for scalar in value.unicodeScalars.prefix(100) {
            text += scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
        }
        return "\"\(text)\(value.unicodeScalars.count > 100 ? "…" : "")\""
    }

    /// `component` percent-encoded for a URL path, as huggingface_hub quotes names (`/` kept
    /// unless `keepingSlashes` is false).
    static func percentEncoded(_ component: String, keepingSlashes: Bool = true) -> String {
        var text = ""
        for byte in component.utf8 {
            if isASCIIAlphanumeric(byte) || "-._~".utf8.contains(byte) || (keepingSlashes && byte == UInt8(ascii: "/")) {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                text += (byte < 16 ? "%0" : "%") + String(byte, radix: 16, uppercase: true)
            }
        }
        return text
    }

    private static func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isASCIIHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
    }
}
