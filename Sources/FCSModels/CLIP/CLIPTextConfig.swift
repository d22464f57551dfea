import FCSTensor

/// transformers' `CLIPTextConfig`, read from a `text_encoder/config.json`. Defaults are SD 1.x's
/// text encoder (OpenAI CLIP ViT-L/14). Decoding it checks types only; the model checks the
/// values (see ``ConfigLimits``) before building anything.
public struct CLIPTextConfig: Decodable, Sendable, Equatable {
    public var vocabSize = 49408
    public var hiddenSize = 768
    public var intermediateSize = 3072
    public var numHiddenLayers = 12
    public var numAttentionHeads = 12
    public var maxPositionEmbeddings = 77
    public var hiddenAct = "quick_gelu"
    public var layerNormEps: Float = 1e-5

    public init() {}

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case maxPositionEmbeddings = "max_position_embeddings"
        case hiddenAct = "hidden_act"
        case layerNormEps = "layer_norm_eps"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.requireClass("clip_text_model", .modelType)
        let d = CLIPTextConfig()
        vocabSize = try c.integer(.vocabSize) ?? d.vocabSize
        hiddenSize = try c.integer(.hiddenSize) ?? d.hiddenSize
        intermediateSize = try c.integer(.intermediateSize) ?? d.intermediateSize
        numHiddenLayers = try c.integer(.numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.integer(.numAttentionHeads) ?? d.numAttentionHeads
        maxPositionEmbeddings = try c.integer(.maxPositionEmbeddings) ?? d.maxPositionEmbeddings
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        layerNormEps = try c.float(.layerNormEps) ?? d.layerNormEps
    }
}

extension CLIPTextConfig: ValidatedConfig {
    /// Every value the model is built from: sizes within ``ConfigLimits``, heads that divide
    /// the width, a known activation, a finite positive eps.
    func validate(source: String) throws(FCSError) {
        let check = ConfigCheck(source: source)
        try check.count(vocabSize, "vocab_size", limit: ConfigLimits.maxVocabulary, limitName: "maxVocabulary")
        try check.count(maxPositionEmbeddings, "max_position_embeddings", limit: ConfigLimits.maxPositions, limitName: "maxPositions")
        try check.channels(hiddenSize, "hidden_size")
        try check.channels(intermediateSize, "intermediate_size")
        try check.layers(numHiddenLayers, "num_hidden_layers")
        try check.channels(numAttentionHeads, "num_attention_heads")
        try check.divides(numAttentionHeads, "num_attention_heads", hiddenSize, "hidden_size")
        try check.known(hiddenAct, "hidden_act", ["quick_gelu", "gelu"])
        try check.finitePositive(layerNormEps, "layer_norm_eps")
    }
}
