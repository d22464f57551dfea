import FCSTensor

/// The configs and tokenizer of a Stable Diffusion model, read and validated before any
/// network is built, and checked against each other: each config can be valid alone and the
/// networks still not fit together (an SD 2 UNet with an SD 1 text encoder), which would trap
/// at the first sampling step instead of failing the load.
struct StableDiffusionConfigs {
    var tokenizer: CLIPTokenizer
    var text: CLIPTextConfig
    var unet: UNet2DConditionModelConfig
    var vae: AutoencoderKLConfig
    /// What messages call each config: its file, or fcs's built-in SD 1.5 config.
    var sources: (tokenizer: String, text: String, unet: String, vae: String)

    /// The configs of a diffusers folder: `*/config.json` and `tokenizer/`.
    init(folder: String) throws(FCSError) {
        let vocabulary = "\(folder)/tokenizer/vocab.json"
        sources = (vocabulary, "\(folder)/text_encoder/config.json", "\(folder)/unet/config.json", "\(folder)/vae/config.json")
        text = try decodeConfig(sources.text)
        unet = try decodeConfig(sources.unet)
        vae = try decodeConfig(sources.vae)
        tokenizer = try CLIPTokenizer(folder: "\(folder)/tokenizer")
        try requireCompatible()
    }

    /// SD 1.5's configs and the CLIP vocabulary built into fcs.
    static func builtIn() throws(FCSError) -> StableDiffusionConfigs {
        let builtIn = "fcs's built-in SD 1.5 config"
        return StableDiffusionConfigs(tokenizer: try CLIPTokenizer.openAICLIP(), text: CLIPTextConfig(),
                                      unet: UNet2DConditionModelConfig(), vae: AutoencoderKLConfig(),
                                      sources: ("the built-in CLIP vocabulary", builtIn, builtIn, builtIn))
    }

    private init(tokenizer: CLIPTokenizer, text: CLIPTextConfig, unet: UNet2DConditionModelConfig, vae: AutoencoderKLConfig,
                 sources: (tokenizer: String, text: String, unet: String, vae: String)) {
        (self.tokenizer, self.text, self.unet, self.vae, self.sources) = (tokenizer, text, unet, vae, sources)
    }

    /// What the sampler feeds from one network to the next must fit: token ids into the text
    /// encoder, its states into the UNet's cross-attention, VAE latents into the UNet and back,
    /// RGB images into the VAE.
    private func requireCompatible() throws(FCSError) {
        func mismatch(_ a: String, _ aField: String, _ aValue: Int, _ b: String, _ bField: String, _ bValue: Int) -> FCSError {
            .format("\(a): \(aField) is \(aValue), but \(b) has \(bField) \(bValue): the networks do not fit together")
        }
        guard Int(tokenizer.largestTokenID) < text.vocabSize else {
            throw .format("\(sources.tokenizer): token id \(tokenizer.largestTokenID) is outside the text encoder's vocab_size of \(text.vocabSize) (\(sources.text))")
        }
        let promptLength = 77  // the tokenizer's pipeline length (CLIPTokenizer.callAsFunction)
        guard text.maxPositionEmbeddings >= promptLength else {
            throw .format("\(sources.text): max_position_embeddings is \(text.maxPositionEmbeddings); SD's prompts are \(promptLength) tokens")
        }
        guard unet.crossAttentionDim == text.hiddenSize else {
            throw mismatch(sources.unet, "cross_attention_dim", unet.crossAttentionDim, sources.text, "hidden_size", text.hiddenSize)
        }
        guard unet.inChannels == vae.latentChannels else {
            throw mismatch(sources.unet, "in_channels", unet.inChannels, sources.vae, "latent_channels", vae.latentChannels)
        }
        guard unet.outChannels == vae.latentChannels else {
            throw mismatch(sources.unet, "out_channels", unet.outChannels, sources.vae, "latent_channels", vae.latentChannels)
        }
        let check = ConfigCheck(source: sources.vae)
        try check.known(vae.inChannels, "in_channels", [3])   // RGB images
        try check.known(vae.outChannels, "out_channels", [3])
    }
}
