import FCSTensor

/// The fields of a diffusers `UNet2DModel` `config.json` (a pixel-space denoiser without text
/// conditioning) that fcs reads; defaults are diffusers'. Only positional time embeddings,
/// conv up/downsampling and the default resnet time-scale-shift are supported. Decoding checks
/// types only; the model checks the values (see ``ConfigLimits``) before building anything.
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
        case className = "_class_name"
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
        try c.requireClass("UNet2DModel", .className)
        let d = UNet2DModelConfig()
        sampleSize = try c.integer(.sampleSize) ?? d.sampleSize
        inChannels = try c.integer(.inChannels) ?? d.inChannels
        outChannels = try c.integer(.outChannels) ?? d.outChannels
        centerInputSample = try c.decodeIfPresent(Bool.self, forKey: .centerInputSample) ?? d.centerInputSample
        timeEmbeddingType = try c.decodeIfPresent(String.self, forKey: .timeEmbeddingType) ?? d.timeEmbeddingType
        flipSinToCos = try c.decodeIfPresent(Bool.self, forKey: .flipSinToCos) ?? d.flipSinToCos
        freqShift = try c.float(.freqShift) ?? d.freqShift
        downBlockTypes = try c.decodeIfPresent([String].self, forKey: .downBlockTypes) ?? d.downBlockTypes
        midBlockType = c.contains(.midBlockType) ? try c.decodeIfPresent(String.self, forKey: .midBlockType) : d.midBlockType
        upBlockTypes = try c.decodeIfPresent([String].self, forKey: .upBlockTypes) ?? d.upBlockTypes
        blockOutChannels = try c.integers(.blockOutChannels, allowsSingle: false) ?? d.blockOutChannels
        layersPerBlock = try c.integer(.layersPerBlock) ?? d.layersPerBlock
        midBlockScaleFactor = try c.float(.midBlockScaleFactor) ?? d.midBlockScaleFactor
        downsamplePadding = try c.integer(.downsamplePadding) ?? d.downsamplePadding
        downsampleType = try c.decodeIfPresent(String.self, forKey: .downsampleType) ?? d.downsampleType
        upsampleType = try c.decodeIfPresent(String.self, forKey: .upsampleType) ?? d.upsampleType
        actFn = try c.decodeIfPresent(String.self, forKey: .actFn) ?? d.actFn
        attentionHeadDim = c.contains(.attentionHeadDim) ? try c.integer(.attentionHeadDim) : d.attentionHeadDim
        normNumGroups = try c.integer(.normNumGroups) ?? d.normNumGroups
        attnNormNumGroups = try c.integer(.attnNormNumGroups)
        normEps = try c.float(.normEps) ?? d.normEps
        resnetTimeScaleShift = try c.decodeIfPresent(String.self, forKey: .resnetTimeScaleShift) ?? d.resnetTimeScaleShift
        addAttention = try c.decodeIfPresent(Bool.self, forKey: .addAttention) ?? d.addAttention
        classEmbedType = try c.decodeIfPresent(String.self, forKey: .classEmbedType)
    }
}

extension UNet2DModelConfig: ValidatedConfig {
    /// Every value the model is built from: sizes within ``ConfigLimits``, list lengths that
    /// match the blocks, groups and head widths that divide the channels, and only the options
    /// fcs implements.
    func validate(source: String) throws(FCSError) {
        let check = ConfigCheck(source: source)
        let blocks = try check.blockLayout(channels: blockOutChannels, down: downBlockTypes, up: upBlockTypes,
                                           downTypes: ["AttnDownBlock2D", "DownBlock2D"], upTypes: ["AttnUpBlock2D", "UpBlock2D"])
        try check.known(midBlockType, "mid_block_type", ["UNetMidBlock2D", nil])
        try check.known(actFn, "act_fn", ["silu"])
        try check.known(timeEmbeddingType, "time_embedding_type", ["positional"])
        try check.known(downsampleType, "downsample_type", ["conv"])
        try check.known(upsampleType, "upsample_type", ["conv"])
        try check.known(resnetTimeScaleShift, "resnet_time_scale_shift", ["default"])
        try check.known(classEmbedType, "class_embed_type", [nil])
        try check.known(midBlockScaleFactor, "mid_block_scale_factor", [1])
        try check.sampleSize(sampleSize, blocks: blocks)
        try check.channels(inChannels, "in_channels")
        try check.channels(outChannels, "out_channels")
        try check.layers(layersPerBlock, "layers_per_block")
        try check.known(downsamplePadding, "downsample_padding", [0, 1])
        try check.finite(freqShift, "freq_shift")
        try check.finitePositive(normEps, "norm_eps")
        try check.channels(normNumGroups, "norm_num_groups")
        for (i, channels) in blockOutChannels.enumerated() {
            try check.divides(normNumGroups, "norm_num_groups", channels, "block_out_channels[\(i)]")
        }
        // the widths that have a spatial attention: blocks with one, and the mid block
        let midAttention = midBlockType != nil && addAttention
        var attended = downBlockTypes.indices.filter { downBlockTypes[$0].hasPrefix("Attn") }
        attended += upBlockTypes.indices.filter { upBlockTypes[$0].hasPrefix("Attn") }.map { blocks - 1 - $0 }
        if midAttention { attended.append(blocks - 1) }
        if let attentionHeadDim {
            try check.channels(attentionHeadDim, "attention_head_dim")
            for level in Set(attended).sorted() {
                try check.divides(attentionHeadDim, "attention_head_dim", blockOutChannels[level], "block_out_channels[\(level)]")
            }
        }
        // diffusers gives attn_norm_num_groups to the mid block's attention only
        if let attnNormNumGroups, midAttention {
            try check.channels(attnNormNumGroups, "attn_norm_num_groups")
            try check.divides(attnNormNumGroups, "attn_norm_num_groups", blockOutChannels[blocks - 1], "block_out_channels[\(blocks - 1)]")
        }
    }
}
