// diffusers' AutoencoderTiny config.json (madebyollin/taesd's), with diffusers' defaults, which
// are TAESD's.
import FCSTensor

/// The `config.json` of a diffusers `AutoencoderTiny` (TAESD). Decoding it checks types only;
/// ``validate(source:)`` checks the values before anything is built.
///
/// `block_out_channels`, which diffusers writes as a copy of `decoder_block_out_channels`, is
/// not read (diffusers' `__init__` does not take it either).
public struct AutoencoderTinyConfig: Decodable, Sendable, Equatable {
    public var inChannels = 3
    public var outChannels = 3
    public var encoderBlockOutChannels = [64, 64, 64, 64]
    public var decoderBlockOutChannels = [64, 64, 64, 64]
    /// The activation inside the blocks ("relu"; "silu"/"swish" and "gelu" too). The blocks'
    /// output activation (`fuse`) is always ReLU.
    public var actFn = "relu"
    public var upsampleFn = "nearest"
    public var latentChannels = 4
    public var upsamplingScalingFactor = 2
    /// `AutoencoderTinyBlock`s per encoder stage, after that stage's (first or stride-2) convolution.
    public var numEncoderBlocks = [1, 3, 3, 3]
    /// `AutoencoderTinyBlock`s per decoder stage, before that stage's upsampling and convolution.
    public var numDecoderBlocks = [3, 3, 3, 1]
    /// Only for diffusers' uint8 helpers `scale_latents` / `unscale_latents` (latents stored as an
    /// RGBA image: `latents / (2·magnitude) + shift`); encode and decode never use it.
    public var latentMagnitude: Float = 3
    /// See ``latentMagnitude``.
    public var latentShift: Float = 0.5
    /// Has no effect on the CPU (float32 throughout).
    public var forceUpcast = false
    /// 1 for TAESD: its encoder outputs latents already in the diffusion model's (scaled) space,
    /// so diffusers' pipelines multiply and divide by 1.
    public var scalingFactor: Float = 1
    /// 0 for the SD 1.x / 2.x / XL TAESDs; FLUX's and SD3's latent spaces shift.
    public var shiftFactor: Float = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case className = "_class_name"
        case inChannels = "in_channels", outChannels = "out_channels"
        case encoderBlockOutChannels = "encoder_block_out_channels", decoderBlockOutChannels = "decoder_block_out_channels"
        case actFn = "act_fn", upsampleFn = "upsample_fn", latentChannels = "latent_channels"
        case upsamplingScalingFactor = "upsampling_scaling_factor"
        case numEncoderBlocks = "num_encoder_blocks", numDecoderBlocks = "num_decoder_blocks"
        case latentMagnitude = "latent_magnitude", latentShift = "latent_shift", forceUpcast = "force_upcast"
        case scalingFactor = "scaling_factor", shiftFactor = "shift_factor"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.requireClass("AutoencoderTiny", .className)
        let d = AutoencoderTinyConfig()
        inChannels = try c.integer(.inChannels) ?? d.inChannels
        outChannels = try c.integer(.outChannels) ?? d.outChannels
        encoderBlockOutChannels = try c.integers(.encoderBlockOutChannels, allowsSingle: false) ?? d.encoderBlockOutChannels
        decoderBlockOutChannels = try c.integers(.decoderBlockOutChannels, allowsSingle: false) ?? d.decoderBlockOutChannels
        actFn = try c.decodeIfPresent(String.self, forKey: .actFn) ?? d.actFn
        upsampleFn = try c.decodeIfPresent(String.self, forKey: .upsampleFn) ?? d.upsampleFn
        latentChannels = try c.integer(.latentChannels) ?? d.latentChannels
        upsamplingScalingFactor = try c.integer(.upsamplingScalingFactor) ?? d.upsamplingScalingFactor
        numEncoderBlocks = try c.integers(.numEncoderBlocks, allowsSingle: false) ?? d.numEncoderBlocks
        numDecoderBlocks = try c.integers(.numDecoderBlocks, allowsSingle: false) ?? d.numDecoderBlocks
        latentMagnitude = try c.float(.latentMagnitude) ?? d.latentMagnitude
        latentShift = try c.float(.latentShift) ?? d.latentShift
        forceUpcast = try c.decodeIfPresent(Bool.self, forKey: .forceUpcast) ?? d.forceUpcast
        scalingFactor = try c.float(.scalingFactor) ?? d.scalingFactor
        shiftFactor = try c.float(.shiftFactor) ?? d.shiftFactor
    }

    /// How many times smaller the encoder's latents are along a side: one stride-2 convolution
    /// per stage after the first.
    public var encoderDownsamplingFactor: Int { 1 << (encoderBlockOutChannels.count - 1) }

    /// How many times larger the decoder's images are along a side: one upsampling per stage
    /// but the last.
    public var decoderUpsamplingFactor: Int { 1 << (decoderBlockOutChannels.count - 1) }
}

extension AutoencoderTinyConfig: ValidatedConfig {
    /// Every value the model is built from: sizes within ``ConfigLimits``, one block count per
    /// stage, one width throughout each half, known activations and upsampling, finite numbers.
    func validate(source: String) throws(FCSError) {
        let check = ConfigCheck(source: source)
        try check.channels(inChannels, "in_channels")
        try check.channels(outChannels, "out_channels")
        try check.channels(latentChannels, "latent_channels")
        for (channels, channelsField, blocks, blocksField) in [
            (encoderBlockOutChannels, "encoder_block_out_channels", numEncoderBlocks, "num_encoder_blocks"),
            (decoderBlockOutChannels, "decoder_block_out_channels", numDecoderBlocks, "num_decoder_blocks"),
        ] {
            try check.blockChannels(channels, channelsField)
            // diffusers builds each stage's first layer for that stage's own width, so a width
            // change between stages is a model whose forward fails in PyTorch too
            for i in channels.indices.dropFirst() where channels[i] != channels[0] {
                throw check.failure("\(channelsField)[\(i)]", "is \(channels[i]), not \(channels[0]) as [0]: each stage of EncoderTiny / DecoderTiny keeps the width of the one before")
            }
            try check.onePerBlock(blocks.count, blocksField, blocks: channels.count, blocksField: channelsField)
            for (i, count) in blocks.enumerated() {
                guard count >= 0 else { throw check.failure("\(blocksField)[\(i)]", "is \(count); it must be 0 or more") }
                if count > 0 { try check.layers(count, "\(blocksField)[\(i)]") }
            }
        }
        try check.known(actFn.lowercased(), "act_fn", ["relu", "silu", "swish", "gelu"])
        try check.known(upsampleFn, "upsample_fn", ["nearest"])
        try check.known(upsamplingScalingFactor, "upsampling_scaling_factor", [2])
        try check.finitePositive(latentMagnitude, "latent_magnitude")
        try check.finite(latentShift, "latent_shift")
        try check.finitePositive(scalingFactor, "scaling_factor")
        try check.known(shiftFactor, "shift_factor", [0])
    }
}
