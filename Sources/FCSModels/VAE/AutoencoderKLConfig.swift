// diffusers' AutoencoderKL config.json (the fields SD 1.x-shaped VAEs use), with SD 1.5's values
// as defaults.
import FCSTensor

/// The `vae/config.json` of a diffusers Stable Diffusion 1.x model. Decoding it checks types
/// only; the model checks the values (see ``ConfigLimits``) before building anything.
public struct AutoencoderKLConfig: Decodable, Sendable, Equatable {
    public var inChannels = 3
    public var outChannels = 3
    public var downBlockTypes = ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"]
    public var upBlockTypes = ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]
    public var blockOutChannels = [128, 256, 512, 512]
    public var layersPerBlock = 2
    public var actFn = "silu"
    public var latentChannels = 4
    public var normNumGroups = 32
    public var sampleSize = 512
    /// Latents the UNet sees are `scalingFactor ·` the posterior's; decode takes unscaled ones.
    public var scalingFactor: Float = 0.18215
    public var midBlockAddAttention = true
    public var useQuantConv = true
    public var usePostQuantConv = true

    public init() {}

    enum CodingKeys: String, CodingKey {
        case className = "_class_name"
        case inChannels = "in_channels", outChannels = "out_channels"
        case downBlockTypes = "down_block_types", upBlockTypes = "up_block_types"
        case blockOutChannels = "block_out_channels", layersPerBlock = "layers_per_block", actFn = "act_fn"
        case latentChannels = "latent_channels", normNumGroups = "norm_num_groups", sampleSize = "sample_size"
        case scalingFactor = "scaling_factor", midBlockAddAttention = "mid_block_add_attention"
        case useQuantConv = "use_quant_conv", usePostQuantConv = "use_post_quant_conv"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.requireClass("AutoencoderKL", .className)
        let d = AutoencoderKLConfig()
        inChannels = try c.integer(.inChannels) ?? d.inChannels
        outChannels = try c.integer(.outChannels) ?? d.outChannels
        downBlockTypes = try c.decodeIfPresent([String].self, forKey: .downBlockTypes) ?? d.downBlockTypes
        upBlockTypes = try c.decodeIfPresent([String].self, forKey: .upBlockTypes) ?? d.upBlockTypes
        blockOutChannels = try c.integers(.blockOutChannels, allowsSingle: false) ?? d.blockOutChannels
        layersPerBlock = try c.integer(.layersPerBlock) ?? d.layersPerBlock
        actFn = try c.decodeIfPresent(String.self, forKey: .actFn) ?? d.actFn
        latentChannels = try c.integer(.latentChannels) ?? d.latentChannels
        normNumGroups = try c.integer(.normNumGroups) ?? d.normNumGroups
        sampleSize = try c.integer(.sampleSize) ?? d.sampleSize
        scalingFactor = try c.float(.scalingFactor) ?? d.scalingFactor
        midBlockAddAttention = try c.decodeIfPresent(Bool.self, forKey: .midBlockAddAttention) ?? d.midBlockAddAttention
        useQuantConv = try c.decodeIfPresent(Bool.self, forKey: .useQuantConv) ?? d.useQuantConv
        usePostQuantConv = try c.decodeIfPresent(Bool.self, forKey: .usePostQuantConv) ?? d.usePostQuantConv
    }
}

extension AutoencoderKLConfig: ValidatedConfig {
    /// Every value the model is built from: sizes within ``ConfigLimits``, list lengths that
    /// match the blocks, groups that divide the channels, known block types, a finite
    /// positive scaling factor.
    func validate(source: String) throws(FCSError) {
        let check = ConfigCheck(source: source)
        let blocks = try check.blockLayout(channels: blockOutChannels, down: downBlockTypes, up: upBlockTypes,
                                           downTypes: ["DownEncoderBlock2D"], upTypes: ["UpDecoderBlock2D"])
        try check.known(actFn, "act_fn", ["silu"])
        try check.sampleSize(sampleSize, blocks: blocks)
        try check.channels(inChannels, "in_channels")
        try check.channels(outChannels, "out_channels")
        try check.channels(latentChannels, "latent_channels")
        try check.layers(layersPerBlock, "layers_per_block")
        try check.finitePositive(scalingFactor, "scaling_factor")
        try check.channels(normNumGroups, "norm_num_groups")
        for (i, channels) in blockOutChannels.enumerated() {
            try check.divides(normNumGroups, "norm_num_groups", channels, "block_out_channels[\(i)]")
        }
    }
}
