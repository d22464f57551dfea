import FCSTensor
#if canImport(Glibc)
import Glibc
#endif

/// Where a Stable Diffusion model's files are, resolved from what a user typed: a diffusers
/// folder, an original single-file checkpoint, or a model name in the Hugging Face hub cache
/// (`~/.cache/huggingface/hub/models--ORG--NAME/snapshots/REV/`, as diffusers leaves it, so a
/// diffusers user needs no second copy).
public enum ModelLocation: Equatable, Sendable {
    case diffusersFolder(String)
    case singleFile(String)

    /// - Parameters:
    ///   - reference: a path, or a hub name such as `stable-diffusion-v1-5/stable-diffusion-v1-5`.
    ///   - environment: variable lookup (`HF_HUB_CACHE`, `HF_HOME`, `XDG_CACHE_HOME`, `HOME`).
    /// - Throws: `.io` when nothing is found (the message says where fcs looked and what to do),
    ///   `.format` for pickle checkpoints (`.ckpt`, `.pt`, `.pth`, `.bin`), which fcs never unpickles.
    public static func resolve(_ reference: String,
                               environment: (String) -> String? = { getenv($0).map { String(cString: $0) } }) throws(FCSError) -> ModelLocation {
        let lowered = reference.lowercased()
        if [".ckpt", ".pt", ".pth", ".bin", ".pkl"].contains(where: lowered.hasSuffix) {
            throw .format("\(reference): pickle checkpoints are never loaded (unpickling can run code); use the .safetensors version of this model")
        }
        switch fileKind(reference) {
        case .directory:
            guard fileKind(reference + "/model_index.json") == .file else {
                throw .io("\(reference): not a diffusers model folder (no model_index.json)")
            }
            return .diffusersFolder(reference)
        case .file:
            guard lowered.hasSuffix(".safetensors") else {
                throw .format("\(reference): not a .safetensors checkpoint")
            }
            return .singleFile(reference)
        case .missing:
            break
        }
        let parts = reference.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts.contains(where: \.isEmpty), !reference.hasPrefix("."), !reference.contains("\\") else {
            throw .io("\(reference): no such file or folder")
        }
        let cache = hubCache(environment)
        let repository = "\(cache)/models--\(parts[0])--\(parts[1])"
        guard let snapshot = snapshot(of: repository) else {
            throw .io("\(reference): not in the Hugging Face cache (\(cache)); download it with `fcs fetch \(reference)`, pass the path of a model folder or .safetensors file, or use the demo model built into fcs (\"demo\")")
        }
        return try resolve(snapshot, environment: environment)
    }

    /// The hub cache folder, as huggingface_hub finds it.
    public static func hubCache(_ environment: (String) -> String?) -> String {
        if let cache = environment("HF_HUB_CACHE"), !cache.isEmpty { return cache }
        if let home = environment("HF_HOME"), !home.isEmpty { return home + "/hub" }
        if let xdg = environment("XDG_CACHE_HOME"), !xdg.isEmpty { return xdg + "/huggingface/hub" }
        return (environment("HOME") ?? "") + "/.cache/huggingface/hub"
    }

    /// `snapshots/<refs/main>` of a cached repository, or its only snapshot.
    static func snapshot(of repository: String) -> String? {
        if let main = try? readFile(repository + "/refs/main") {
            let revision = String(decoding: main, as: UTF8.self).trimmingWhitespace()
            if !revision.isEmpty, !revision.contains("/"), fileKind(repository + "/snapshots/" + revision) == .directory {
                return repository + "/snapshots/" + revision
            }
        }
        let snapshots = directoryEntries(repository + "/snapshots")
        return snapshots.count == 1 ? repository + "/snapshots/" + snapshots[0] : nil
    }
}

enum FileKind { case file, directory, missing }

/// What is at `path`, following symbolic links (the hub cache links snapshot files to blobs).
func fileKind(_ path: String) -> FileKind {
    var status = stat()
    guard stat(path, &status) == 0 else { return .missing }
    return status.st_mode & S_IFMT == S_IFDIR ? .directory : .file
}

/// The names in a folder, without "." and "..".
func directoryEntries(_ path: String) -> [String] {
    guard let directory = opendir(path) else { return [] }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars.drop { $0.properties.isWhitespace }.reversed().drop { $0.properties.isWhitespace }.reversed()
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }
}
