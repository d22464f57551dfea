import FCSTensor

/// fcs's upper bounds on config values. Each is far above any Stable Diffusion model (SD 1.5's
/// widest layer has 1,280 channels, its vocabulary 49,408 tokens) and keeps a corrupt value such
/// as 10^9 channels an error before anything is allocated from it.
public enum ConfigLimits {
    /// Channels, hidden sizes and feature widths of any layer.
    public static let maxChannels = 16_384
    /// Blocks (resolution levels) of a UNet or VAE.
    public static let maxBlocks = 8
    /// Layers of one kind in a block, or of the text encoder.
    public static let maxLayers = 64
    /// Token vocabulary entries.
    public static let maxVocabulary = 1 << 20
    /// Text encoder positions.
    public static let maxPositions = 4_096
    /// `sample_size` (pixels for a VAE or pixel-space UNet, latents for SD's UNet).
    public static let maxSampleSize = 16_384
    /// Bytes of a config.json, vocab.json or merges.txt (SD's vocab.json has about 1 MB).
    public static let maxFileBytes = 64 << 20
}

/// The checks that configs make of their values, each failing as a `.format` error
/// `"<source>: <field> <problem>"` with the config's JSON field names.
struct ConfigCheck {
    let source: String

    func failure(_ field: String, _ problem: String) -> FCSError { .format("\(source): \(field) \(problem)") }

    /// 1 … `limit`, the limit named in the message.
    func count(_ value: Int, _ field: String, limit: Int, limitName: String) throws(FCSError) {
        guard value >= 1 else { throw failure(field, "is \(value); it must be at least 1") }
        guard value <= limit else { throw failure(field, "is \(value), above fcs's limit of \(limit) (ConfigLimits.\(limitName))") }
    }

    /// A channel count or width: 1 … ``ConfigLimits/maxChannels``.
    func channels(_ value: Int, _ field: String) throws(FCSError) {
        try count(value, field, limit: ConfigLimits.maxChannels, limitName: "maxChannels")
    }

    /// Layers per block or in a stack: 1 … ``ConfigLimits/maxLayers``.
    func layers(_ value: Int, _ field: String) throws(FCSError) {
        try count(value, field, limit: ConfigLimits.maxLayers, limitName: "maxLayers")
    }

    /// Block channel counts: one to ``ConfigLimits/maxBlocks`` of them, each valid channels.
    func blockChannels(_ values: [Int], _ field: String) throws(FCSError) {
        guard !values.isEmpty else { throw failure(field, "is empty; it needs one channel count per block") }
        guard values.count <= ConfigLimits.maxBlocks else {
            throw failure(field, "has \(values.count) blocks, above fcs's limit of \(ConfigLimits.maxBlocks) (ConfigLimits.maxBlocks)")
        }
        for (i, value) in values.enumerated() { try channels(value, "\(field)[\(i)]") }
    }

    /// The blocks of a UNet or VAE: `block_out_channels`, and one known type per block in
    /// `down_block_types` and `up_block_types`.
    /// - Returns: the number of blocks.
    func blockLayout(channels: [Int], down: [String], up: [String], downTypes: [String], upTypes: [String]) throws(FCSError) -> Int {
        try blockChannels(channels, "block_out_channels")
        try onePerBlock(down.count, "down_block_types", blocks: channels.count)
        try onePerBlock(up.count, "up_block_types", blocks: channels.count)
        for (i, type) in down.enumerated() { try known(type, "down_block_types[\(i)]", downTypes) }
        for (i, type) in up.enumerated() { try known(type, "up_block_types[\(i)]", upTypes) }
        return channels.count
    }

    /// A list that has one entry per block.
    func onePerBlock(_ count: Int, _ field: String, blocks: Int, blocksField: String = "block_out_channels") throws(FCSError) {
        guard count == blocks else {
            throw failure(field, "has \(count) entries, but \(blocksField) has \(blocks) blocks: it needs one per block")
        }
    }

    /// A list that has one entry, or one per block.
    func oneOrOnePerBlock(_ count: Int, _ field: String, blocks: Int) throws(FCSError) {
        guard count == 1 || count == blocks else {
            throw failure(field, "has \(count) entries; it needs one, or one per block (block_out_channels has \(blocks))")
        }
    }

    /// `divisor` (named `divisorField`) splits `value` (named `valueField`) evenly.
    func divides(_ divisor: Int, _ divisorField: String, _ value: Int, _ valueField: String) throws(FCSError) {
        guard divisor > 0, value % divisor == 0 else {
            throw failure(divisorField, "is \(divisor), which does not divide \(valueField) = \(value)")
        }
    }

    /// A finite number greater than 0 (norm eps, scaling factors).
    func finitePositive(_ value: Float, _ field: String) throws(FCSError) {
        guard value.isFinite, value > 0 else { throw failure(field, "is \(value); it must be a finite number above 0") }
    }

    /// A finite number.
    func finite(_ value: Float, _ field: String) throws(FCSError) {
        guard value.isFinite else { throw failure(field, "is \(value); it must be a finite number") }
    }

    /// One of the values fcs implements.
    func known<Value: Equatable>(_ value: Value, _ field: String, _ supported: [Value]) throws(FCSError) {
        guard supported.contains(value) else {
            throw failure(field, "is \(Self.quoted(value)); fcs supports " + supported.map(Self.quoted).joined(separator: ", "))
        }
    }

    /// A sample size that halves evenly through `blocks` blocks, up to ``ConfigLimits/maxSampleSize``.
    func sampleSize(_ value: Int, _ field: String = "sample_size", blocks: Int) throws(FCSError) {
        try count(value, field, limit: ConfigLimits.maxSampleSize, limitName: "maxSampleSize")
        let factor = 1 << (blocks - 1)
        guard value % factor == 0 else {
            throw failure(field, "is \(value), which does not halve evenly through \(blocks) blocks (a multiple of \(factor) does)")
        }
    }

    private static func quoted<Value>(_ value: Value) -> String {
        switch value {
        case let string as String: "\"\(string)\""
        case let optional as String?: optional.map { "\"\($0)\"" } ?? "null"
        default: "\(value)"
        }
    }
}
