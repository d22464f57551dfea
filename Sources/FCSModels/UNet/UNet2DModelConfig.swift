/// The fields of a diffusers `UNet2DModel` `config.json` (a pixel-space denoiser without text
/// conditioning) that fcs reads; defaults are diffusers'. Only positional time embeddings,
/// conv up/downsampling and the default resnet time-scale-shift are supported.
public struct UNet2DModelConfig: Decodable, Sendable {
    public var sampleSize = 64
    public var inChannels = 3
    public var outChannels = 3
    public var centerInputSample = false
    public var timeEmbeddingType = "positional"
    public var flipSinToCos = true
    public var freqShift: Float = 0
    public var downBlockTypes = ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"]
    public var midBlockType: String? = "UNetMidBlock2D"
    public var upBlockTypes = ["AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"]
    public var blockOutChannels = [224, 448, 672, 896]
    public var layersPerBlock = 2
    public var midBlockScaleFactor: Float = 1
    public var downsamplePadding = 1
    public var downsampleType = "conv"
    public var upsampleType = "conv"
    public var actFn = "silu"
    /// Channels per attention head; nil means one head per block (all channels).
    public var attentionHeadDim: Int? = 8
    public var normNumGroups = 32
    public var attnNormNumGroups: Int?
    public var normEps: Float = 1e-5
    public var resnetTimeScaleShift = "default"
    public var addAttention = true
    public var classEmbedType: String?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case sampleSize = "sample_size", inChannels = "in_channels", outChannels = "out_channels"
        case centerInputSample = "center_input_sample", timeEmbeddingType = "time_embedding_type"
        case flipSinToCos = "flip_sin_to_cos", freqShift = "freq_shift"
        case downBlockTypes = "down_block_types", midBlockType = "mid_block_type", upBlockTypes = "up_block_types"
        case blockOutChannels = "block_out_channels", layersPerBlock = "layers_per_block"
        case midBlockScaleFactor = "mid_block_scale_factor", downsamplePadding = "downsample_padding"
        case downsampleType = "downsample_type", upsampleType = "upsample_type", actFn = "act_fn"
        case attentionHeadDim = "attention_head_dim", normNumGroups = "norm_num_groups", attnNormNumGroups = "attn_norm_num_groups"
        case normEps = "norm_eps", resnetTimeScaleShift = "resnet_time_scale_shift", addAttention = "add_attention"
        case classEmbedType = "class_embed_type"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = UNet2DModelConfig()
        sampleSize = try c.decodeIfPresent(Int.self, forKey: .sampleSize) ?? d.sampleSize
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? d.inChannels
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? d.outChannels
        centerInputSample = try c.decodeIfPresent(Bool.self, forKey: .centerInputSample) ?? d.centerInputSample
        timeEmbeddingType = try c.decodeIfPresent(String.self, forKey: .timeEmbeddingType) ?? d.timeEmbeddingType
        flipSinToCos = try c.decodeIfPresent(Bool.self, forKey: .flipSinToCos) ?? d.flipSinToCos
        freqShift = try c.decodeIfPresent(Float.self, forKey: .freqShift) ?? d.freqShift
        downBlockTypes = try c.decodeIfPresent([String].self, forKey: .downBlockTypes) ?? d.downBlockTypes
        midBlockType = c.contains(.midBlockType) ? try c.decodeIfPresent(String.self, forKey: .midBlockType) : d.midBlockType
        upBlockTypes = try c.decodeIfPresent([String].self, forKey: .upBlockTypes) ?? d.upBlockTypes
        blockOutChannels = try c.decodeIfPresent([Int].self, forKey: .blockOutChannels) ?? d.blockOutChannels
        layersPerBlock = try c.decodeIfPresent(Int.self, forKey: .layersPerBlock) ?? d.layersPerBlock
        midBlockScaleFactor = try c.decodeIfPresent(Float.self, forKey: .midBlockScaleFactor) ?? d.midBlockScaleFactor
        downsamplePadding = try c.decodeIfPresent(Int.self, forKey: .downsamplePadding) ?? d.downsamplePadding
        downsampleType = try c.decodeIfPresent(String.self, forKey: .downsampleType) ?? d.downsampleType
        upsampleType = try c.decodeIfPresent(String.self, forKey: .upsampleType) ?? d.upsampleType
        actFn = try c.decodeIfPresent(String.self, forKey: .actFn) ?? d.actFn
        attentionHeadDim = c.contains(.attentionHeadDim) ? try c.decodeIfPresent(Int.self, forKey: .attentionHeadDim) : d.attentionHeadDim
        normNumGroups = try c.decodeIfPresent(Int.self, forKey: .normNumGroups) ?? d.normNumGroups
        attnNormNumGroups = try c.decodeIfPresent(Int.self, forKey: .attnNormNumGroups)
        normEps = try c.decodeIfPresent(Float.self, forKey: .normEps) ?? d.normEps
        resnetTimeScaleShift = try c.decodeIfPresent(String.self, forKey: .resnetTimeScaleShift) ?? d.resnetTimeScaleShift
        addAttention = try c.decodeIfPresent(Bool.self, forKey: .addAttention) ?? d.addAttention
        classEmbedType = try c.decodeIfPresent(String.self, forKey: .classEmbedType)
    }
}
