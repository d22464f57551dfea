// diffusers' UNet2DConditionModel config.json (the fields SD 1.x- and 2.x-shaped models use), with
// SD 1.5's values as defaults.
import FCSTensor

/// The `unet/config.json` of a diffusers Stable Diffusion 1.x or 2.x model. Decoding it checks types
/// only; the model checks the values (see ``ConfigLimits``) before building anything.
public struct UNet2DConditionModelConfig: Decodable, Sendable, Equatable {
    public var sampleSize = 64
    public var inChannels = 4
    public var outChannels = 4
    public var flipSinToCos = true
    public var freqShift: Float = 0
    public var downBlockTypes = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
    public var midBlockType = "UNetMidBlock2DCrossAttn"
    public var upBlockTypes = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
    public var blockOutChannels = [320, 640, 1280, 1280]
    public var layersPerBlock = 2
    public var downsamplePadding = 1
    public var midBlockScaleFactor: Float = 1
    public var actFn = "silu"
    public var normNumGroups = 32
    public var normEps: Float = 1e-5
    /// diffusers allows one per block; fcs reads a list only if all its entries are equal.
    public var crossAttentionDim = 768
    /// Transformer blocks in each Transformer2DModel: one value, or one per down block (SDXL's
    /// `[1, 2, 10]`); up blocks mirror the list and the mid block takes its last entry, as diffusers
    /// builds them.
    public var transformerLayersPerBlock = [1]
    /// diffusers' historical quirk: for SD 1.x, `attention_head_dim` holds the number of heads
    /// (8); the head width is channels / heads. One value, or one per down block.
    public var attentionHeadDim = [8]
    /// When present, the number of heads (and `attentionHeadDim` is ignored), as diffusers reads it.
    public var numAttentionHeads: [Int]?
    public var useLinearProjection = false
    /// q·k and the softmax in float32 in bf16 runs (SD 2.1's UNets set it; fp32 runs are unchanged).
    public var upcastAttention = false
    /// The width of the guidance-scale embedding added to the time embedding through
    /// `time_embedding.cond_proj` (LCM-distilled UNets: 256); nil for SD's UNets.
    public var timeCondProjDim: Int?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case className = "_class_name"
        case sampleSize = "sample_size", inChannels = "in_channels", outChannels = "out_channels"
        case flipSinToCos = "flip_sin_to_cos", freqShift = "freq_shift"
        case downBlockTypes = "down_block_types", midBlockType = "mid_block_type", upBlockTypes = "up_block_types"
        case blockOutChannels = "block_out_channels", layersPerBlock = "layers_per_block"
        case downsamplePadding = "downsample_padding", midBlockScaleFactor = "mid_block_scale_factor"
        case actFn = "act_fn", normNumGroups = "norm_num_groups", normEps = "norm_eps"
        case crossAttentionDim = "cross_attention_dim", transformerLayersPerBlock = "transformer_layers_per_block"
        case reverseTransformerLayersPerBlock = "reverse_transformer_layers_per_block"
        case attentionHeadDim = "attention_head_dim", numAttentionHeads = "num_attention_heads"
        case useLinearProjection = "use_linear_projection", upcastAttention = "upcast_attention"
        case timeCondProjDim = "time_cond_proj_dim"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.requireClass("UNet2DConditionModel", .className)
        let d = UNet2DConditionModelConfig()
        sampleSize = try c.integer(.sampleSize) ?? d.sampleSize
        inChannels = try c.integer(.inChannels) ?? d.inChannels
        outChannels = try c.integer(.outChannels) ?? d.outChannels
        flipSinToCos = try c.decodeIfPresent(Bool.self, forKey: .flipSinToCos) ?? d.flipSinToCos
        freqShift = try c.float(.freqShift) ?? d.freqShift
        downBlockTypes = try c.decodeIfPresent([String].self, forKey: .downBlockTypes) ?? d.downBlockTypes
        midBlockType = try c.decodeIfPresent(String.self, forKey: .midBlockType) ?? d.midBlockType
        upBlockTypes = try c.decodeIfPresent([String].self, forKey: .upBlockTypes) ?? d.upBlockTypes
        blockOutChannels = try c.integers(.blockOutChannels, allowsSingle: false) ?? d.blockOutChannels
        layersPerBlock = try c.integer(.layersPerBlock) ?? d.layersPerBlock
        downsamplePadding = try c.integer(.downsamplePadding) ?? d.downsamplePadding
        midBlockScaleFactor = try c.float(.midBlockScaleFactor) ?? d.midBlockScaleFactor
        actFn = try c.decodeIfPresent(String.self, forKey: .actFn) ?? d.actFn
        normNumGroups = try c.integer(.normNumGroups) ?? d.normNumGroups
        normEps = try c.float(.normEps) ?? d.normEps
        crossAttentionDim = try Self.oneValue(c, .crossAttentionDim, blocks: blockOutChannels.count) ?? d.crossAttentionDim
        transformerLayersPerBlock = try c.integers(.transformerLayersPerBlock) ?? d.transformerLayersPerBlock
        if c.contains(.reverseTransformerLayersPerBlock), try !c.decodeNil(forKey: .reverseTransformerLayersPerBlock) {
            throw DecodingError.dataCorruptedError(forKey: .reverseTransformerLayersPerBlock, in: c,
                                                   debugDescription: "is set; fcs supports only null (up blocks mirror transformer_layers_per_block)")
        }
        attentionHeadDim = try c.integers(.attentionHeadDim) ?? d.attentionHeadDim
        numAttentionHeads = try c.integers(.numAttentionHeads)
        useLinearProjection = try c.decodeIfPresent(Bool.self, forKey: .useLinearProjection) ?? d.useLinearProjection
        upcastAttention = try c.decodeIfPresent(Bool.self, forKey: .upcastAttention) ?? d.upcastAttention
        timeCondProjDim = try c.integer(.timeCondProjDim)
    }

    /// A field that diffusers lets be one value or one per block, where fcs implements one
    /// value for all blocks: a list must have one entry per block, all equal.
    private static func oneValue(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys, blocks: Int) throws -> Int? {
        guard let values = try c.integers(key) else { return nil }
        guard values.count == 1 || (values.count == blocks && Set(values).count == 1) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: c,
                debugDescription: values.count == 1 || values.count == blocks
                    ? "per-block values \(values) are not supported; fcs needs one value for every block"
                    : "has \(values.count) entries, but block_out_channels has \(blocks) blocks: it needs one per block")
        }
        return values[0]
    }

    /// Heads of the attention layers at down-block level `level` (the up path mirrors it).
    func heads(level: Int) -> Int {
        let values = numAttentionHeads ?? attentionHeadDim
        return values.count == 1 ? values[0] : values[level]
    }

    /// Transformer blocks per Transformer2DModel at down-block level `level` (the up path mirrors it).
    func transformerLayers(level: Int) -> Int {
        transformerLayersPerBlock.count == 1 ? transformerLayersPerBlock[0] : transformerLayersPerBlock[level]
    }
}

extension UNet2DConditionModelConfig: ValidatedConfig {
    /// Every value the model is built from: sizes within ``ConfigLimits``, list lengths that
    /// match the blocks, groups and heads that divide the channels, known block types.
    func validate(source: String) throws(FCSError) {
        let check = ConfigCheck(source: source)
        let blocks = try check.blockLayout(channels: blockOutChannels, down: downBlockTypes, up: upBlockTypes,
                                           downTypes: ["CrossAttnDownBlock2D", "DownBlock2D"], upTypes: ["CrossAttnUpBlock2D", "UpBlock2D"])
        try check.known(midBlockType, "mid_block_type", ["UNetMidBlock2DCrossAttn"])
        try check.known(actFn, "act_fn", ["silu"])
        try check.sampleSize(sampleSize, blocks: blocks)
        try check.channels(inChannels, "in_channels")
        try check.channels(outChannels, "out_channels")
        try check.channels(crossAttentionDim, "cross_attention_dim")
        if let timeCondProjDim { try check.channels(timeCondProjDim, "time_cond_proj_dim") }
        try check.layers(layersPerBlock, "layers_per_block")
        try check.oneOrOnePerBlock(transformerLayersPerBlock.count, "transformer_layers_per_block", blocks: blocks)
        for (level, layers) in transformerLayersPerBlock.enumerated() {
            try check.layers(layers, transformerLayersPerBlock.count == 1 ? "transformer_layers_per_block" : "transformer_layers_per_block[\(level)]")
        }
        try check.known(downsamplePadding, "downsample_padding", [0, 1])
        try check.finite(freqShift, "freq_shift")
        try check.finitePositive(midBlockScaleFactor, "mid_block_scale_factor")
        try check.finitePositive(normEps, "norm_eps")
        try check.channels(normNumGroups, "norm_num_groups")
        for (i, channels) in blockOutChannels.enumerated() {
            try check.divides(normNumGroups, "norm_num_groups", channels, "block_out_channels[\(i)]")
        }
        let (headCounts, headsField) = numAttentionHeads.map { ($0, "num_attention_heads") } ?? (attentionHeadDim, "attention_head_dim")
        try check.oneOrOnePerBlock(headCounts.count, headsField, blocks: blocks)
        for level in 0..<blocks {
            let field = headCounts.count == 1 ? headsField : "\(headsField)[\(level)]"
            try check.channels(self.heads(level: level), field)
            try check.divides(self.heads(level: level), field, blockOutChannels[level], "block_out_channels[\(level)]")
        }
    }
}
