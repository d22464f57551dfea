#if canImport(Glibc)
import Glibc
#endif

/// A folder of this process under `$TMPDIR` (tools/fuzz.sh points it at a scratch folder that
/// it empties after each run, since a crashing harness cannot clean up after itself).
public enum ScratchFolder {
    public static let path: String = {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/fcs-fuzz-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { fatalError("cannot create a folder under \(base)") }
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        atexit { _ = system("rm -rf '\(ScratchFolder.path)'") }
        return path
    }()

    /// Writes `bytes` to `path`, replacing it. A harness set-up failure is fatal: it is no finding.
    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { fatalError("cannot write \(path)") }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let written = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            guard written > 0 else { fatalError("cannot write \(path)") }
            done += written
        }
    }

    public static func write(_ bytes: [UInt8], to path: String) {
        bytes.withUnsafeBytes { write($0, to: path) }
    }

    /// The bytes of a fixture file.
    public static func read(_ path: String) -> [UInt8] {
        guard let file = fopen(path, "rb") else { fatalError("cannot read \(path)") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while case let count = fread(&chunk, 1, chunk.count, file), count > 0 { bytes += chunk[0..<count] }
        return bytes
    }

    public static func makeFolder(_ path: String) {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { fatalError("cannot create \(path)") }
    }

    public static func link(_ target: String, at path: String) {
        guard symlink(target, path) == 0 || errno == EEXIST else { fatalError("cannot link \(path)") }
    }
}
