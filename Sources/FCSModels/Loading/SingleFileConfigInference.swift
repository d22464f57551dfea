// The configs of a single-file checkpoint read off its tensor names and shapes, as ComfyUI's
// model_detection.py (`detect_unet_config`) and diffusers' `infer_diffusers_model_type` do, so
// that an SD-shaped file loads without a config folder. What the weights show: every width, the
// levels and their block types, layers per block, transformer depth, the context width, linear or
// convolutional projections, the text tower (OpenAI CLIP: SD 1.x; OpenCLIP: SD 2.x) and its
// depth. What they do not show is taken from the model family the file belongs to, as ComfyUI's
// supported_models.py takes it: head counts (SD 1.x: 8 per level; SD 2.x: 64-wide heads),
// GroupNorm's 32 groups, eps, the β schedule. What no family settles is refused, naming it:
// a UNet of neither family (its head counts), and SD 2.x's prediction type (ε for 2.x base,
// v for 768-v: same shapes, told apart only by the scheduler config).
import FCSTensor

/// The configs a single file's tensors imply, each inferred when asked for (what a config
/// folder gives is never inferred, so a file only needs to show what the folder lacks).
public struct SingleFileConfigInference {
    /// Every tensor name of the file and its shape.
    public let shapes: [String: [Int]]
    /// What messages call the file.
    public let source: String

    /// - Parameters:
    ///   - shapes: every tensor name of the file and its shape, as ``SafeTensorsFile`` read them.
    ///   - source: what messages call the file.
    public init(shapes: [String: [Int]], source: String) {
        self.shapes = shapes
        self.source = source
    }

    /// The file's text tower: OpenAI CLIP (SD 1.x) or OpenCLIP (SD 2.x).
    /// - Throws: `.format` naming the file when it has neither.
    public func tower() throws(FCSError) -> SingleFileCheckpoint.TextTower {
        for tower in [SingleFileCheckpoint.TextTower.openCLIP, .openAI] where shapes.keys.contains(where: { $0.hasPrefix(tower.prefix) }) {
            return tower
        }
        throw .format("\(source): no text encoder (neither cond_stage_model.transformer.… nor cond_stage_model.model.…): not a Stable Diffusion 1.x / 2.x checkpoint")
    }

    /// The diffusion process: SD 1.x's for OpenAI-CLIP files; nil for SD 2.x, whose ε / v the
    /// weights do not show.
    public func schedulerConfig() throws(FCSError) -> SchedulerConfig? {
        try tower() == .openAI ? SchedulerConfig() : nil
    }

    public func text() throws(FCSError) -> CLIPTextConfig {
        let tower = try tower()
        return try Self.textConfig(Self.component(shapes, prefix: tower.prefix), tower: tower, source: source)
    }

    public func unet() throws(FCSError) -> UNet2DConditionModelConfig {
        try Self.unetConfig(Self.component(shapes, prefix: SingleFileCheckpoint.Component.unet.prefixes[0]), tower: try tower(), source: source)
    }

    public func vae() throws(FCSError) -> AutoencoderKLConfig {
        try Self.vaeConfig(Self.component(shapes, prefix: SingleFileCheckpoint.Component.vae.prefixes[0]), tower: try tower(), source: source)
    }

    /// The shapes of the keys under `prefix`, without it.
    private static func component(_ shapes: [String: [Int]], prefix: String) -> [String: [Int]] {
        var result: [String: [Int]] = [:]
        for (key, shape) in shapes where key.hasPrefix(prefix) { result[String(key.dropFirst(prefix.count))] = shape }
        return result
    }

    /// The shape of `name`, which must have `rank` axes, each at least 1.
    private static func shape(_ shapes: [String: [Int]], _ name: String, rank: Int, _ source: String, _ prefix: String) throws(FCSError) -> [Int] {
        guard let shape = shapes[name] else { throw .format("\(source): no tensor \(prefix)\(name): not an SD-shaped checkpoint") }
        guard shape.count == rank, shape.allSatisfy({ $0 >= 1 }) else {
            throw .format("\(source): tensor \(prefix)\(name) has shape \(shape); an SD-shaped checkpoint has \(rank) axes there")
        }
        return shape
    }

    /// The consecutive indices 0, 1, … for which `name(i)` is a key.
    private static func count(_ shapes: [String: [Int]], _ name: (Int) -> String) -> Int {
        var n = 0
        while n < ConfigLimits.maxLayers, shapes[name(n)] != nil { n += 1 }
        return n
    }

    private static func textConfig(_ shapes: [String: [Int]], tower: SingleFileCheckpoint.TextTower, source: String) throws(FCSError) -> CLIPTextConfig {
        var config = CLIPTextConfig()
        let prefix = tower.prefix
        switch tower {
        case .openAI:
            let root = shapes["text_model.embeddings.token_embedding.weight"] != nil ? "text_model." : ""
            let token = try shape(shapes, root + "embeddings.token_embedding.weight", rank: 2, source, prefix)
            config.vocabSize = token[0]
            config.hiddenSize = token[1]
            config.maxPositionEmbeddings = try shape(shapes, root + "embeddings.position_embedding.weight", rank: 2, source, prefix)[0]
            config.numHiddenLayers = count(shapes) { root + "encoder.layers.\($0).layer_norm1.weight" }
            config.intermediateSize = try shape(shapes, root + "encoder.layers.0.mlp.fc1.weight", rank: 2, source, prefix)[0]
            config.hiddenAct = "quick_gelu"
        case .openCLIP:
            let token = try shape(shapes, "token_embedding.weight", rank: 2, source, prefix)
            config.vocabSize = token[0]
            config.hiddenSize = token[1]
            config.maxPositionEmbeddings = try shape(shapes, "positional_embedding", rank: 2, source, prefix)[0]
            // SD 2.x conditions on the penultimate layer: diffusers' config keeps one layer fewer than the file has
            config.numHiddenLayers = count(shapes) { "transformer.resblocks.\($0).ln_1.weight" } - 1
            config.intermediateSize = try shape(shapes, "transformer.resblocks.0.mlp.c_fc.weight", rank: 2, source, prefix)[0]
            config.hiddenAct = "gelu"
        }
        // both towers have 64-wide heads (ViT-L/14: 768 = 12 × 64; ViT-H/14: 1024 = 16 × 64)
        guard config.hiddenSize % 64 == 0, config.numHiddenLayers >= 1 else {
            throw .format("\(source): a text encoder \(config.hiddenSize) wide with \(config.numHiddenLayers) layer(s) is no CLIP tower SD uses (64-wide heads): pass a config folder with its text_encoder/config.json")
        }
        config.numAttentionHeads = config.hiddenSize / 64
        return config
    }

    private static func unetConfig(_ shapes: [String: [Int]], tower: SingleFileCheckpoint.TextTower, source: String) throws(FCSError) -> UNet2DConditionModelConfig {
        let prefix = SingleFileCheckpoint.Component.unet.prefixes[0]
        var config = UNet2DConditionModelConfig()
        let convIn = try shape(shapes, "input_blocks.0.0.weight", rank: 4, source, prefix)
        config.inChannels = convIn[1]
        if config.inChannels == 9 {
            throw .format("\(source): an inpainting UNet (in_channels 9: latents, mask and masked image); fcs's constrained sampling runs the plain 4-channel model of the same family, which fills holes without that conditioning")
        }
        config.outChannels = try shape(shapes, "out.2.weight", rank: 4, source, prefix)[0]
        // input_blocks: conv_in, then per level layers_per_block resnets (+ attentions) and a downsampler (not after the last)
        guard let firstDownsampler = (1...ConfigLimits.maxLayers).first(where: { shapes["input_blocks.\($0).0.op.weight"] != nil }) else {
            throw .format("\(source): no downsampler (\(prefix)input_blocks.N.0.op.weight): not an SD-shaped UNet")
        }
        let perLevel = firstDownsampler, layers = perLevel - 1
        let levels = count(shapes) { "input_blocks.\(1 + $0 * perLevel).0.in_layers.0.weight" }
        guard layers >= 1, levels >= 2 else { throw .format("\(source): a UNet of \(levels) level(s), \(layers) layer(s) each is not SD-shaped") }
        config.layersPerBlock = layers
        var channels: [Int] = [], down: [String] = [], depths: [Int?] = [], attentionBlock: String?
        for level in 0..<levels {
            let first = 1 + level * perLevel
            channels.append(try shape(shapes, "input_blocks.\(first).0.out_layers.3.weight", rank: 4, source, prefix)[0])
            let hasAttention = shapes["input_blocks.\(first).1.proj_in.weight"] != nil
            down.append(hasAttention ? "CrossAttnDownBlock2D" : "DownBlock2D")
            depths.append(hasAttention ? count(shapes) { "input_blocks.\(first).1.transformer_blocks.\($0).norm1.weight" } : nil)
            if hasAttention && attentionBlock == nil { attentionBlock = "input_blocks.\(first).1" }
        }
        config.blockOutChannels = channels
        config.downBlockTypes = down
        // up level b mirrors down level levels−1−b: its first resnet has an attention beside it when that one does
        config.upBlockTypes = (0..<levels).map { shapes["output_blocks.\($0 * perLevel).1.proj_in.weight"] != nil ? "CrossAttnUpBlock2D" : "UpBlock2D" }
        guard shapes["middle_block.1.proj_in.weight"] != nil else {
            throw .format("\(source): no mid-block attention (\(prefix)middle_block.1): fcs implements UNetMidBlock2DCrossAttn only")
        }
        let attention = attentionBlock ?? "middle_block.1"
        let projIn = shapes[attention + ".proj_in.weight"] ?? []
        config.useLinearProjection = projIn.count == 2
        config.crossAttentionDim = try shape(shapes, attention + ".transformer_blocks.0.attn2.to_k.weight", rank: 2, source, prefix)[1]
        // one depth when every level with attention has the same (SD 1.x / 2.x: 1), else one per level (1 where none)
        let depth = count(shapes) { "\(attention).transformer_blocks.\($0).norm1.weight" }
        config.transformerLayersPerBlock = depths.allSatisfy({ $0 == nil || $0 == depth }) ? [depth] : depths.map { $0 ?? 1 }
        // LCM-distilled UNets' guidance-scale embedding (single files keep diffusers' name for it)
        config.timeCondProjDim = try shapes["time_embedding.cond_proj.weight"] == nil ? nil
            : shape(shapes, "time_embedding.cond_proj.weight", rank: 2, source, prefix)[1]
        // the heads are no tensor's shape: the family's
        switch (tower, config.crossAttentionDim, config.useLinearProjection) {
        case (.openAI, 768, false):  // SD 1.x: 8 heads at every level (diffusers' attention_head_dim 8)
            config.attentionHeadDim = [8]
        case (.openCLIP, 1024, true):  // SD 2.x: 64-wide heads (diffusers' attention_head_dim [5, 10, 20, 20])
            guard channels.allSatisfy({ $0 % 64 == 0 }) else {
                throw .format("\(source): block widths \(channels) do not split into SD 2.x's 64-wide heads; pass a config folder with its unet/config.json")
            }
            config.attentionHeadDim = channels.map { $0 / 64 }
            config.upcastAttention = true
            config.sampleSize = 96
        default:
            throw .format("\(source): a UNet with context width \(config.crossAttentionDim) and \(config.useLinearProjection ? "linear" : "convolutional") projections is neither SD 1.x's (768, convolutional) nor SD 2.x's (1024, linear), and its attention head counts are not in the weights: pass a config folder with its unet/config.json")
        }
        return config
    }

    private static func vaeConfig(_ shapes: [String: [Int]], tower: SingleFileCheckpoint.TextTower, source: String) throws(FCSError) -> AutoencoderKLConfig {
        let prefix = SingleFileCheckpoint.Component.vae.prefixes[0]
        var config = AutoencoderKLConfig()
        config.inChannels = try shape(shapes, "encoder.conv_in.weight", rank: 4, source, prefix)[1]
        config.outChannels = try shape(shapes, "decoder.conv_out.weight", rank: 4, source, prefix)[0]
        let levels = count(shapes) { "encoder.down.\($0).block.0.conv1.weight" }
        guard levels >= 1 else { throw .format("\(source): no VAE encoder blocks (\(prefix)encoder.down.0.block.0.conv1.weight)") }
        var channels: [Int] = []
        for level in 0..<levels {
            channels.append(try shape(shapes, "encoder.down.\(level).block.0.conv1.weight", rank: 4, source, prefix)[0])
        }
        config.blockOutChannels = channels
        config.downBlockTypes = Array(repeating: "DownEncoderBlock2D", count: levels)
        config.upBlockTypes = Array(repeating: "UpDecoderBlock2D", count: levels)
        config.layersPerBlock = count(shapes) { "encoder.down.0.block.\($0).conv1.weight" }
        config.latentChannels = try shape(shapes, "decoder.conv_in.weight", rank: 4, source, prefix)[1]
        config.useQuantConv = shapes["quant_conv.weight"] != nil
        config.usePostQuantConv = shapes["post_quant_conv.weight"] != nil
        config.midBlockAddAttention = shapes["encoder.mid.attn_1.q.weight"] != nil
        if tower == .openCLIP { config.sampleSize = 768 }
        return config
    }
}
