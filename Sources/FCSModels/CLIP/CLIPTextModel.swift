import FCSTensor

/// transformers' `CLIPTextModel` (modeling_clip.py), the text encoder of SD 1.x: token and
/// position embeddings, causal pre-norm transformer layers, final layer norm. Returns
/// `last_hidden_state`, which SD's UNet takes as `encoder_hidden_states`.
public struct CLIPTextModel: Sendable {
    public let config: CLIPTextConfig
    let tokenEmbedding: Tensor     // text_model.embeddings.token_embedding.weight [vocab, width]
    let positionEmbedding: Tensor  // text_model.embeddings.position_embedding.weight [positions, width]
    let layers: [CLIPEncoderLayer] // text_model.encoder.layers.N
    let finalLayerNorm: LayerNorm  // text_model.final_layer_norm

    /// - Parameter weights: a reader at the checkpoint's root. Names start with `text_model.` in
    ///   the files transformers 4 wrote (every SD 1.x release) and with `embeddings.` /
    ///   `encoder.` in those transformers 5 writes; both are accepted.
    /// - Throws: `.format` for a config value fcs refuses (see ``ConfigLimits``), a missing or
    ///   mis-shaped tensor.
    public init(config: CLIPTextConfig, weights: WeightReader) throws(FCSError) {
        try config.validate(source: "CLIPTextModel config")
        self.config = config
        let text = weights.contains("text_model.embeddings.token_embedding.weight") ? weights.scoped("text_model") : weights
        tokenEmbedding = try text.tensor("embeddings.token_embedding.weight", shape: [config.vocabSize, config.hiddenSize])
        positionEmbedding = try text.tensor("embeddings.position_embedding.weight",
                                            shape: [config.maxPositionEmbeddings, config.hiddenSize])
        var layers: [CLIPEncoderLayer] = []
        for i in 0..<config.numHiddenLayers {
            layers.append(try CLIPEncoderLayer(text.scoped("encoder.layers.\(i)"), config: config))
        }
        self.layers = layers
        finalLayerNorm = try text.layerNorm("final_layer_norm", features: config.hiddenSize, eps: config.layerNormEps)
    }

    /// - Parameter inputIDs: `B` sequences of equal length ≤ `maxPositionEmbeddings`.
    /// - Returns: `last_hidden_state`, `[B, tokens, hiddenSize]`, in `arena`.
    /// - Throws: `.invalidArgument` for ragged or over-long input or an id outside the vocabulary.
    public func callAsFunction(_ inputIDs: [[Int32]], in arena: ScratchArena) throws(FCSError) -> Tensor {
        let tokens = inputIDs.first?.count ?? 0, width = config.hiddenSize
        guard tokens > 0, tokens <= config.maxPositionEmbeddings, inputIDs.allSatisfy({ $0.count == tokens }) else {
            throw .invalidArgument("CLIPTextModel: expected 1 to \(config.maxPositionEmbeddings) ids per sequence, equal for all sequences")
        }
        if inputIDs.joined().contains(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
            throw .invalidArgument("CLIPTextModel: token id outside the vocabulary of \(config.vocabSize)")
        }
        return forward(inputIDs, tokens: tokens, width: width, in: arena)
    }

    private func forward(_ inputIDs: [[Int32]], tokens: Int, width: Int, in arena: ScratchArena) -> Tensor {
        // embeddings: token_embedding(ids) + position_embedding(0 ..< tokens)
        var h = arena.tensor([inputIDs.count, tokens, width])
        for (b, ids) in inputIDs.enumerated() {
            for (position, id) in ids.enumerated() {
                let row = h.data + (b * tokens + position) * width
                row.update(from: tokenEmbedding.data + Int(id) * width, count: width)
                for i in 0..<width { row[i] += positionEmbedding.data[position * width + i] }
            }
        }
        for layer in layers { h = layer(h, in: arena) }
        return finalLayerNorm(h, in: arena)
    }
}
