// The largest request each task takes, so that no call can run for days or be killed by the
// kernel half-way: a size limit on what a model samples at once, and a check of the estimated
// working set against the memory the process may still use (MemAvailable, and the cgroup's limit
// when there is one). Callers wanting more split the image into tiles (docs/sampling.md, "Large images").
import FCSTensor
#if canImport(Glibc)
import Glibc
#endif

public enum RequestLimits {
    /// The most pixels an image passed in may have (inpainting samples only a window of it).
    public static let maxImagePixels = 1 << 28
    /// The most pixels a model samples at once — the padded canvas: the whole (output) image for
    /// super-resolution and layer extraction, the context window for inpainting. 2048 × 2048 is
    /// 16× SD 1.x's native 512²: one UNet forward takes about a minute on 2 cores, a 20-step
    /// inpainting there about 4 hours.
    public static let maxSampledPixels = 2048 * 2048

    /// Throws `.invalidArgument` when a `width` × `height` canvas is over ``maxSampledPixels``.
    public static func checkSampled(width: Int, height: Int, task: String) throws(FCSError) {
        guard width * height <= maxSampledPixels else {
            throw .invalidArgument("\(task): sampling \(width)×\(height) pixels at once is more than the maximum of "
                + "\(maxSampledPixels) (2048×2048); split the image into tiles, or for inpainting let the context window "
                + "(context_crop_above, context_size) bound what is sampled")
        }
    }

    /// Throws `.outOfMemory` when `bytes` (a request's estimated working set) exceed what the
    /// process may still allocate.
    public static func checkMemory(_ bytes: Int, task: String) throws(FCSError) {
        guard let available = availableMemoryBytes(), bytes > available else { return }
        let gib = { (b: Int) in String(Double(b * 100 / (1 << 30)) / 100) }
        throw .outOfMemory("\(task) needs about \(gib(bytes)) GiB of working memory, but only \(gib(available)) GiB are available")
    }

    /// What the process may still allocate: MemAvailable, capped by the cgroup's limit less its
    /// usage (cgroup v2, or v1's memory controller). nil when neither can be read.
    /// `FCS_MEMORY_AVAILABLE` (bytes) overrides it, for tests and for hosts that budget memory themselves.
    public static func availableMemoryBytes() -> Int? {
        if let text = getenv("FCS_MEMORY_AVAILABLE").map({ String(cString: $0) }), let bytes = Int(text) { return bytes }
        var limits: [Int] = []
        if let meminfo = readText("/proc/meminfo"),
           let line = meminfo.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kib = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
            limits.append(kib * 1024)
        }
        let cgroupPath = readText("/proc/self/cgroup")?.split(separator: "\n")
            .first(where: { $0.hasPrefix("0::") }).map { String($0.dropFirst(3)) }
        let candidates: [(limit: String, usage: String)] = [
            ("/sys/fs/cgroup\(cgroupPath ?? "")/memory.max", "/sys/fs/cgroup\(cgroupPath ?? "")/memory.current"),
            ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
            ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
        ]
        for (limitFile, usageFile) in candidates {
            guard let limit = readNumber(limitFile), let usage = readNumber(usageFile) else { continue }
            limits.append(max(0, limit - usage))  // "max" (no limit) does not parse: skipped
            break
        }
        return limits.min()
    }

    /// The first word of a file as a number (nil for "max" or no file).
    private static func readNumber(_ path: String) -> Int? {
        readText(path)?.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) }
    }

    private static func readText(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
