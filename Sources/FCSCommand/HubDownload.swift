import FCS
import FCSModels
import FoundationEssentials
import _FCSHTTP
#if canImport(Glibc)
import Glibc
#endif

/// Downloads a diffusers model from the Hugging Face hub into the hub cache, in the layout
/// huggingface_hub writes, so diffusers and fcs share one copy:
/// `models--ORG--NAME/blobs/<etag>`, `snapshots/<commit>/<file>` → `../../blobs/<etag>`,
/// `refs/<revision>` = commit. Files already there are not fetched again; an interrupted
/// download resumes from its `.incomplete` blob; LFS files are checked against their SHA-256.
struct HubDownload {
    let repository: String
    var revision = "main"
    /// `HF_ENDPOINT` or https://huggingface.co (tests point it at a local server).
    var endpoint: String
    var token: String?
    var cache: String
    /// "fcs/" and the library's version.
    let userAgent = "fcs/" + String(cString: fcsVersion())

    init(repository: String, environment: (String) -> String? = { getenv($0).map { String(cString: $0) } }) {
        self.repository = repository
        endpoint = environment("HF_ENDPOINT").flatMap { $0.isEmpty ? nil : $0 } ?? "https://huggingface.co"
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        token = environment("HF_TOKEN")
        cache = ModelLocation.hubCache(environment)
    }

    /// Which files of the repository a Stable Diffusion pipeline needs: configs, the tokenizer,
    /// and for each network its fp16 safetensors (else the full-precision ones). Never pickles.
    static func filesToFetch(_ names: [String]) -> [String] {
        let wanted = names.filter { name in
            name == "model_index.json" || name.hasPrefix("tokenizer/") || name == "scheduler/scheduler_config.json"
                || (name.split(separator: "/").count == 2 && name.hasSuffix("/config.json"))
        }
        var weights: [String] = []
        for component in ["text_encoder", "unet", "vae"] {
            let base = component == "text_encoder" ? "model" : "diffusion_pytorch_model"
            let half = "\(component)/\(base).fp16.safetensors", full = "\(component)/\(base).safetensors"
            if names.contains(half) { weights.append(half) } else if names.contains(full) { weights.append(full) }
        }
        return wanted.filter { $0.hasPrefix("tokenizer/") || $0.hasSuffix(".json") } + weights
    }

    /// Fetches what is missing and returns the snapshot folder. Every name that becomes a path
    /// is checked first (``HubNames``), and every path is checked to stay in the model's folder
    /// before anything is written there.
    func run(progress: (_ file: String, _ done: Int64, _ total: Int64) -> Void) throws -> String {
        try HubNames.checkRepository(repository)
        try HubNames.checkRevision(revision)
        let info = try repositoryInfo()
        let files = Self.filesToFetch(info.siblings.map(\.rfilename))
        guard files.contains("model_index.json") else { throw CommandFailure("\(repository) is not a diffusers model (no model_index.json)") }
        let folder = "\(cache)/models--\(repository.split(separator: "/").joined(separator: "--"))"
        let snapshot = "\(folder)/snapshots/\(info.sha)"
        let manager = FileManager.default
        try manager.createDirectory(atPath: "\(folder)/blobs", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: "\(folder)/refs", withIntermediateDirectories: true)
        let root = try resolvedFolder(folder)
        for file in files {
            let url = "\(endpoint)/\(repository)/resolve/\(info.sha)/\(HubNames.percentEncoded(file))"
            let etag = try self.etag(of: url)
            let blob = "\(folder)/blobs/\(etag)"
            try requireInside(blob, root)
            if !manager.fileExists(atPath: blob) { try download(url, into: blob, root: root, etag: etag, label: file, progress: progress) }
            let link = try createParent(of: file, in: snapshot, root: root)
            if (try? manager.destinationOfSymbolicLink(atPath: link)) == nil {
                let depth = file.split(separator: "/").count + 1  // snapshots/<sha>/<file>
                try manager.createSymbolicLink(atPath: link, withDestinationPath: String(repeating: "../", count: depth) + "blobs/\(etag)")
            }
        }
        if revision != info.sha {  // as huggingface_hub: a commit needs no ref
            let reference = try createParent(of: revision, in: "\(folder)/refs", root: root)
            try Data(info.sha.utf8).write(to: URL(fileURLWithPath: reference), options: .atomic)
        }
        return snapshot
    }

    /// Creates the folders of `name` (a checked relative path) below `folder`; returns the path.
    private func createParent(of name: String, in folder: String, root: String) throws -> String {
        let components = name.split(separator: "/")
        let parent = ([folder[...]] + components.dropLast()).joined(separator: "/")
        try requireInside(parent, root)
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let path = "\(folder)/\(name)"
        try requireInside(path, root)
        return path
    }

    /// `folder` with its symbolic links followed.
    private func resolvedFolder(_ folder: String) throws -> String {
        guard let resolved = realpath(folder, nil) else { throw CommandFailure("\(folder): \(String(cString: strerror(errno)))") }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Refuses `path` unless it stays inside `root` (a resolved folder) once the symbolic links
    /// of its deepest existing part are followed: the names are checked, but a link already in
    /// the cache could still lead out of it.
    private func requireInside(_ path: String, _ root: String) throws {
        var existing = path[...]
        while !existing.isEmpty {
            if let resolved = realpath(String(existing), nil) {
                defer { free(resolved) }
                let target = String(cString: resolved)
                guard target == root || target.hasPrefix(root + "/") else {
                    throw CommandFailure("\(path) leads to \(target), outside the model's cache folder \(root); refusing to write there")
                }
                return
            }
            existing = existing[..<(existing.lastIndex(of: "/") ?? existing.startIndex)]
        }
    }

    struct RepositoryInfo: Decodable {
        struct Sibling: Decodable { let rfilename: String }
        let sha: String
        let siblings: [Sibling]
    }

    /// The model description, its commit and file names checked.
    private func repositoryInfo() throws -> RepositoryInfo {
        let url = "\(endpoint)/api/models/\(repository)/revision/\(HubNames.percentEncoded(revision, keepingSlashes: false))"
        var response = fcs_http_response()
        fcs_http_request(url, token, userAgent, 0, &response)
        defer { fcs_http_response_free(&response) }
        try check(response, url)
        let info: RepositoryInfo
        do {
            let body = response.body.map { Data(bytes: $0, count: response.body_size) } ?? Data()
            info = try JSONDecoder().decode(RepositoryInfo.self, from: body)
        } catch {
            throw CommandFailure("\(url): not a hub model description (\(error))")
        }
        try HubNames.checkCommit(info.sha, from: url)
        for sibling in info.siblings { try HubNames.checkFileName(sibling.rfilename, from: url) }
        return info
    }

    /// The blob name of a file: its LFS SHA-256 (X-Linked-Etag) or git ETag.
    private func etag(of url: String) throws -> String {
        var response = fcs_http_response()
        fcs_http_request(url, token, userAgent, 1, &response)
        defer { fcs_http_response_free(&response) }
        try check(response, url, allowRedirect: true)
        var headers: [String: String] = [:]
        for line in (response.headers.map { String(cString: $0) } ?? "").split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...].drop { $0 == " " })
        }
        guard var etag = headers["x-linked-etag"] ?? headers["etag"] else { throw CommandFailure("\(url): the server sent no ETag") }
        if etag.hasPrefix("W/") { etag.removeFirst(2) }
        etag = etag.filter { $0 != "\"" }
        try HubNames.checkETag(etag, from: url)
        return etag
    }

    private func download(_ url: String, into blob: String, root: String, etag: String, label: String,
                          progress: (String, Int64, Int64) -> Void) throws {
        let partial = blob + ".incomplete"
        try requireInside(partial, root)
        var sha256 = [CChar](repeating: 0, count: 65), error = [CChar](repeating: 0, count: 256)
        let status = withoutActuallyEscaping({ (done: Int64, total: Int64) in progress(label, done, total) }) { report in
            var box = report
            return withUnsafeMutablePointer(to: &box) { pointer in
                fcs_http_download(url, token, userAgent, partial, { done, total, user in
                    user?.assumingMemoryBound(to: ((Int64, Int64) -> Void).self).pointee(done, total)
                    return 0
                }, pointer, &sha256, &error)
            }
        }
        guard status != 0 else { throw CommandFailure("\(url): \(cString(error)) (run `fcs fetch` again to resume)") }
        let digest = cString(sha256)
        let isLFS = etag.count == 64 && etag.allSatisfy(\.isHexDigit)
        if isLFS && digest != etag {
            unlink(partial)
            throw CommandFailure("\(url): checksum mismatch (SHA-256 \(digest), expected \(etag)); the partial file was deleted, run `fcs fetch` again")
        }
        guard rename(partial, blob) == 0 else { throw CommandFailure("cannot move \(partial) to \(blob)") }
    }

    /// The text of a NUL-terminated C buffer (bytes as they are: a path in it may not be ASCII).
    private func cString(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func check(_ response: fcs_http_response, _ url: String, allowRedirect: Bool = false) throws {
        var copy = response
        let reason = withUnsafeBytes(of: &copy.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        switch response.status {
        case 200..<300: return
        case 300..<400 where allowRedirect: return
        case 0:
            throw CommandFailure("cannot reach \(endpoint) (\(reason)); without a network, pass --model PATH (a diffusers folder or .safetensors file) or --model demo (the small demo model built into fcs)")
        case 401, 403:
            throw CommandFailure("\(url): HTTP \(response.status) — the model needs access: accept its licence on the hub and set HF_TOKEN")
        case 404:
            throw CommandFailure("\(url): HTTP 404 — no model \(repository) (revision \(revision)) at \(endpoint)")
        default:
            throw CommandFailure("\(url): HTTP \(response.status)")
        }
    }
}
