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
    var scheduler: SchedulerConfig
    /// What messages call each config: its file, or the single file it was inferred from.
    var sources: (tokenizer: String, text: String, unet: String, vae: String)

    /// The configs of a diffusers folder: `*/config.json`, `tokenizer/` and
    /// `scheduler/scheduler_config.json` (SD 1.x's process without it).
    init(folder: String) throws(FCSError) {
        sources = ("\(folder)/tokenizer/vocab.json", "\(folder)/text_encoder/config.json", "\(folder)/unet/config.json", "\(folder)/vae/config.json")
        text = try decodeConfig(sources.text)
        unet = try decodeConfig(sources.unet)
        vae = try decodeConfig(sources.vae)
        tokenizer = try CLIPTokenizer(folder: "\(folder)/tokenizer")
        scheduler = try SchedulerConfig.read(folder: folder)
        try requireCompatible()
    }

    /// The configs of a single-file checkpoint: each one `configFolder` has (any of
    /// `unet/config.json`, `vae/config.json`, `text_encoder/config.json`, `tokenizer/`,
    /// `scheduler/scheduler_config.json`, as diffusers' `from_single_file(config:)` reads them),
    /// the others inferred from the file's tensors (``SingleFileConfigInference``); the tokenizer
    /// without a folder is CLIP's vocabulary built into fcs, padded as the text tower's family pads.
    /// - Throws: `.format` for what the folder's files or the tensors get wrong, and for what
    ///   neither settles (SD 2.x's prediction type, a UNet of no known family), naming it.
    init(singleFile file: SafeTensorsFile, configFolder folder: String?) throws(FCSError) {
        var shapes: [String: [Int]] = [:]
        for name in file.names { shapes[name] = file.info(name)?.shape }
        let inferred = SingleFileConfigInference(shapes: shapes, source: file.path)
        let inferredSource = "the config inferred from \(file.path)'s tensors (pass a config folder to set it)"
        func has(_ path: String) -> String? { folder.map { "\($0)/\(path)" }.flatMap { fileKind($0) == .missing ? nil : $0 } }
        let (textPath, unetPath, vaePath) = (has("text_encoder/config.json"), has("unet/config.json"), has("vae/config.json"))
        let tokenizerFolder = has("tokenizer")
        sources = (tokenizerFolder.map { $0 + "/vocab.json" } ?? "the built-in CLIP vocabulary", textPath ?? inferredSource,
                   unetPath ?? inferredSource, vaePath ?? inferredSource)
        text = if let textPath { try decodeConfig(textPath) } else { try inferred.text() }
        unet = if let unetPath { try decodeConfig(unetPath) } else { try inferred.unet() }
        vae = if let vaePath { try decodeConfig(vaePath) } else { try inferred.vae() }
        tokenizer = if let tokenizerFolder { try CLIPTokenizer(folder: tokenizerFolder) }
                    else { try CLIPTokenizer.openAICLIP(padToken: try inferred.tower() == .openCLIP ? "!" : CLIPTokenizer.endOfText) }
        if let folder, has("scheduler/scheduler_config.json") != nil {
            scheduler = try SchedulerConfig.read(folder: folder)
        } else if let process = try inferred.schedulerConfig() {
            scheduler = process
        } else {
            throw .format("\(file.path): an SD 2.x checkpoint, whose weights do not say whether it predicts ε (2.x base, 512²) or v (768-v): pass a config folder with scheduler/scheduler_config.json (the model's diffusers folder, or one holding just {\"prediction_type\": \"v_prediction\"} or {\"prediction_type\": \"epsilon\"})")
        }
        try requireCompatible()
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
