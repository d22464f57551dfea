// diffusers' UNet2DConditionModel config.json (the fields SD 1.x-shaped models use), with
// SD 1.5's values as defaults.

/// The `unet/config.json` of a diffusers Stable Diffusion 1.x model.
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
    public var crossAttentionDim = 768
    public var transformerLayersPerBlock = 1
    /// diffusers' historical quirk: for SD 1.x, `attention_head_dim` holds the number of heads
    /// (8); the head width is channels / heads. One value, or one per down block.
    public var attentionHeadDim = [8]
    /// When present, the number of heads (and `attentionHeadDim` is ignored), as diffusers reads it.
    public var numAttentionHeads: [Int]?
    public var useLinearProjection = false

    public init() {}

    enum CodingKeys: String, CodingKey {
        case sampleSize = "sample_size", inChannels = "in_channels", outChannels = "out_channels"
        case flipSinToCos = "flip_sin_to_cos", freqShift = "freq_shift"
        case downBlockTypes = "down_block_types", midBlockType = "mid_block_type", upBlockTypes = "up_block_types"
        case blockOutChannels = "block_out_channels", layersPerBlock = "layers_per_block"
        case downsamplePadding = "downsample_padding", midBlockScaleFactor = "mid_block_scale_factor"
        case actFn = "act_fn", normNumGroups = "norm_num_groups", normEps = "norm_eps"
        case crossAttentionDim = "cross_attention_dim", transformerLayersPerBlock = "transformer_layers_per_block"
        case attentionHeadDim = "attention_head_dim", numAttentionHeads = "num_attention_heads"
        case useLinearProjection = "use_linear_projection"
    }

    /// An integer, or a list of them: several diffusers fields take either.
    private struct IntOrList: Decodable {
        let values: [Int]
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let single = try? container.decode(Int.self) {
                values = [single]
            } else {
                values = try container.decode([Int].self)
            }
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = UNet2DConditionModelConfig()
        sampleSize = try c.decodeIfPresent(Int.self, forKey: .sampleSize) ?? d.sampleSize
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? d.inChannels
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? d.outChannels
        flipSinToCos = try c.decodeIfPresent(Bool.self, forKey: .flipSinToCos) ?? d.flipSinToCos
        freqShift = try c.decodeIfPresent(Float.self, forKey: .freqShift) ?? d.freqShift
        downBlockTypes = try c.decodeIfPresent([String].self, forKey: .downBlockTypes) ?? d.downBlockTypes
        midBlockType = try c.decodeIfPresent(String.self, forKey: .midBlockType) ?? d.midBlockType
        upBlockTypes = try c.decodeIfPresent([String].self, forKey: .upBlockTypes) ?? d.upBlockTypes
        blockOutChannels = try c.decodeIfPresent([Int].self, forKey: .blockOutChannels) ?? d.blockOutChannels
        layersPerBlock = try c.decodeIfPresent(Int.self, forKey: .layersPerBlock) ?? d.layersPerBlock
        downsamplePadding = try c.decodeIfPresent(Int.self, forKey: .downsamplePadding) ?? d.downsamplePadding
        midBlockScaleFactor = try c.decodeIfPresent(Float.self, forKey: .midBlockScaleFactor) ?? d.midBlockScaleFactor
        actFn = try c.decodeIfPresent(String.self, forKey: .actFn) ?? d.actFn
        normNumGroups = try c.decodeIfPresent(Int.self, forKey: .normNumGroups) ?? d.normNumGroups
        normEps = try c.decodeIfPresent(Float.self, forKey: .normEps) ?? d.normEps
        crossAttentionDim = try c.decodeIfPresent(Int.self, forKey: .crossAttentionDim) ?? d.crossAttentionDim
        transformerLayersPerBlock = try c.decodeIfPresent(IntOrList.self, forKey: .transformerLayersPerBlock)?.values.first
            ?? d.transformerLayersPerBlock
        attentionHeadDim = try c.decodeIfPresent(IntOrList.self, forKey: .attentionHeadDim)?.values ?? d.attentionHeadDim
        numAttentionHeads = try c.decodeIfPresent(IntOrList.self, forKey: .numAttentionHeads)?.values
        useLinearProjection = try c.decodeIfPresent(Bool.self, forKey: .useLinearProjection) ?? d.useLinearProjection
    }

    /// Heads of the attention layers at down-block level `level` (the up path mirrors it).
    func heads(level: Int) -> Int {
        let values = numAttentionHeads ?? attentionHeadDim
        return values.count == 1 ? values[0] : values[level]
    }
}
