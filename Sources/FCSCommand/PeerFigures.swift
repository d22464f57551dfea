import FCSModels
import FCSTensor

/// What `tools/bench_models_torch.py --json FILE` writes: PyTorch's seconds for the rows of
/// `fcs bench models`, per variant, and the CPU they were measured on.
struct PeerFigures: Decodable, Equatable {
    /// The torch script's variant names (its columns).
    static let fp32 = "fp32", bf16Autocast = "bf16 autocast", bf16Weights = "bf16 weights"

    /// The CPU's model name.
    var cpu: String
    /// Which of the CPU features that choose kernels (avx2, fma, avx512f, avx512_bf16, amx_…) the
    /// CPU has; empty where the script could not tell.
    var flags: [String: Bool]
    /// PyTorch's version.
    var torch: String
    var threads: Int
    /// The variants timed, in the script's order: "fp32", and where the CPU has AVX512_BF16 also
    /// "bf16 autocast" and "bf16 weights".
    var variants: [String]
    /// Median seconds per row name (`fcs bench models`'s names) and variant.
    var rows: [String: [String: Double]]

    /// The figures in the JSON file at `path`.
    /// - Throws: `.io` when it cannot be read, `.format` naming the file and the field when it is
    ///   not such a file.
    static func load(_ path: String) throws(FCSError) -> PeerFigures {
        let figures = try decodeJSONFile(PeerFigures.self, path: path)
        try figures.validate(source: path)
        return figures
    }

    /// What decoding does not check; `source` names the file in messages.
    func validate(source: String) throws(FCSError) {
        if threads < 1 { throw .format("\(source): threads: \(threads) is not a thread count") }
        if variants.isEmpty { throw .format("\(source): variants: empty; tools/bench_models_torch.py always times fp32") }
        for (name, seconds) in rows {
            for (variant, value) in seconds where !(value.isFinite && value > 0) {
                throw .format("\(source): rows: \"\(name)\": \"\(variant)\": \(value) is no time in seconds")
            }
        }
    }

    /// The flags the CPU has, then those it lacks ("avx2 avx512f fma, not avx512_bf16 amx_bf16").
    var flagSummary: String {
        if flags.isEmpty { return "unknown" }
        let has = flags.filter(\.value).keys.sorted(), lacks = flags.filter { !$0.value }.keys.sorted()
        return has.joined(separator: " ") + (lacks.isEmpty ? "" : ", not " + lacks.joined(separator: " "))
    }
}
