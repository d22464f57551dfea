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

    /// Fetches what is missing and returns the snapshot folder.
    func run(progress: (_ file: String, _ done: Int64, _ total: Int64) -> Void) throws -> String {
        let info = try repositoryInfo()
        let files = Self.filesToFetch(info.siblings.map(\.rfilename))
        guard files.contains("model_index.json") else { throw CommandFailure("\(repository) is not a diffusers model (no model_index.json)") }
        let folder = "\(cache)/models--\(repository.split(separator: "/").joined(separator: "--"))"
        let snapshot = "\(folder)/snapshots/\(info.sha)"
        let manager = FileManager.default
        try manager.createDirectory(atPath: "\(folder)/blobs", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: "\(folder)/refs", withIntermediateDirectories: true)
        for file in files {
            let url = "\(endpoint)/\(repository)/resolve/\(info.sha)/\(file)"
            let etag = try self.etag(of: url)
            let blob = "\(folder)/blobs/\(etag)"
            if !manager.fileExists(atPath: blob) { try download(url, into: blob, etag: etag, label: file, progress: progress) }
            let link = "\(snapshot)/\(file)"
            let parent = String(link[..<link.lastIndex(of: "/")!])
            try manager.createDirectory(atPath: parent, withIntermediateDirectories: true)
            let depth = file.split(separator: "/").count + 1  // snapshots/<sha>/<file>
            if (try? manager.destinationOfSymbolicLink(atPath: link)) == nil {
                try manager.createSymbolicLink(atPath: link, withDestinationPath: String(repeating: "../", count: depth) + "blobs/\(etag)")
            }
        }
        try Data(info.sha.utf8).write(to: URL(fileURLWithPath: "\(folder)/refs/\(revision)"), options: .atomic)
        return snapshot
    }

    struct RepositoryInfo: Decodable {
        struct Sibling: Decodable { let rfilename: String }
        let sha: String
        let siblings: [Sibling]
    }

    private func repositoryInfo() throws -> RepositoryInfo {
        let url = "\(endpoint)/api/models/\(repository)/revision/\(revision)"
        var response = fcs_http_response()
        fcs_http_request(url, token, 0, &response)
        defer { fcs_http_response_free(&response) }
        try check(response, url)
        do {
            return try JSONDecoder().decode(RepositoryInfo.self, from: Data(bytes: response.body, count: response.body_size))
        } catch {
            throw CommandFailure("\(url): not a hub model description (\(error))")
        }
    }

    /// The blob name of a file: its LFS SHA-256 (X-Linked-Etag) or git ETag.
    private func etag(of url: String) throws -> String {
        var response = fcs_http_response()
        fcs_http_request(url, token, 1, &response)
        defer { fcs_http_response_free(&response) }
        try check(response, url, allowRedirect: true)
        var headers: [String: String] = [:]
        for line in String(cString: response.headers).split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...].drop { $0 == " " })
        }
        guard var etag = headers["x-linked-etag"] ?? headers["etag"] else { throw CommandFailure("\(url): the server sent no ETag") }
        if etag.hasPrefix("W/") { etag.removeFirst(2) }
        etag = etag.filter { $0 != "\"" }
        guard !etag.isEmpty, etag.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
            throw CommandFailure("\(url): unusable ETag \(etag)")
        }
        return etag
    }

    private func download(_ url: String, into blob: String, etag: String, label: String,
                          progress: (String, Int64, Int64) -> Void) throws {
        let partial = blob + ".incomplete"
        var sha256 = [CChar](repeating: 0, count: 65), error = [CChar](repeating: 0, count: 256)
        let status = withoutActuallyEscaping({ (done: Int64, total: Int64) in progress(label, done, total) }) { report in
            var box = report
            return withUnsafeMutablePointer(to: &box) { pointer in
                fcs_http_download(url, token, partial, { done, total, user in
                    user!.assumingMemoryBound(to: ((Int64, Int64) -> Void).self).pointee(done, total)
                    return 0
                }, pointer, &sha256, &error)
            }
        }
        guard status != 0 else { throw CommandFailure("\(url): \(String(decoding: error.prefix { $0 != 0 }.map(UInt8.init), as: UTF8.self)) (run `fcs fetch` again to resume)") }
        let digest = String(decoding: sha256.prefix { $0 != 0 }.map(UInt8.init), as: UTF8.self)
        let isLFS = etag.count == 64 && etag.allSatisfy(\.isHexDigit)
        if isLFS && digest != etag {
            unlink(partial)
            throw CommandFailure("\(url): checksum mismatch (SHA-256 \(digest), expected \(etag)); the partial file was deleted, run `fcs fetch` again")
        }
        guard rename(partial, blob) == 0 else { throw CommandFailure("cannot move \(partial) to \(blob)") }
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
