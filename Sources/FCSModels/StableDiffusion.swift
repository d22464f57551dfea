import FCSTensor
import FoundationEssentials

/// The networks of a Stable Diffusion 1.x or 2.x model, loaded once and shared (read-only) by every
/// sampling call.
public struct StableDiffusion: Sendable {
    public let tokenizer: CLIPTokenizer
    /// Built for each new prompt, not held (``TextEncoder``).
    public let textEncoder: TextEncoder
    public let unet: UNet2DConditionModel
    /// Built for each use and released after it, not held through sampling (``VAE``).
    public let vae: VAE
    /// The diffusion process the UNet was trained on (`scheduler/scheduler_config.json`; SD 1.x's
    /// for single files).
    public var schedulerConfig = SchedulerConfig()

    /// Which weight files of a diffusers folder to read.
    public enum Variant: Sendable {
        /// `….safetensors` if the folder has it, else the `fp16` variant.
        case automatic
        /// `….fp16.safetensors` (half the download; loads straight into float16 storage).
        case fp16
        /// `….safetensors` only.
        case fp32
    }

    public struct LoadOptions: Sendable {
        public var variant = LoadOptions.headerDefaults.variant
        /// How layers keep their weights when they compute in float32 (``WeightPrecision/float16``
        /// halves the memory): the weights setting.
        public var precision = LoadOptions.headerDefaults.precision
        /// The arithmetic layers run in; with ``precision`` it gives ``layerPrecision``.
        public var compute = LoadOptions.headerDefaults.compute
        /// For single-file checkpoints: a diffusers folder whose `*/config.json`, `tokenizer/` and
        /// `scheduler/scheduler_config.json` describe the model, as diffusers' `from_single_file(config:)`;
        /// what it lacks (or all, when nil) is inferred from the file's tensors. SD 2.x files need
        /// at least the scheduler config: their weights do not say whether they predict ε or v.
        public var configFolder: String?
        /// LoRA files merged into the UNet and text encoder weights at load, in order (see
        /// ``LoRAReference``). Every update of every file must land on a module.
        public var loras: [LoRAReference] = []
        /// The defaults of `fcs_model_params_default()`.
        public init() {}
        /// The defaults, with `compute` as given (`.float32` pins float32 where
        /// ``ComputePrecision/automatic`` would pick bf16).
        public init(compute: ComputePrecision) { self.compute = compute }

        /// The precision every network of the model is built in (``ComputePrecision/layerPrecision(weights:)``).
        public var layerPrecision: WeightPrecision { compute.layerPrecision(weights: precision) }
    }

    /// Loads a model from a diffusers folder, a single-file checkpoint or a hub-cache name
    /// (see ``ModelLocation/resolve(_:environment:)``).
    /// - Throws: `.io` / `.format` naming the file and the problem: missing files, pickle
    ///   checkpoints, and weights that do not fit the config — missing, mis-shaped or left over.
    public static func load(_ reference: String, options: LoadOptions = LoadOptions()) throws(FCSError) -> StableDiffusion {
        switch try ModelLocation.resolve(reference) {
        case .diffusersFolder(let folder): try loadFolder(folder, options: options)
        case .singleFile(let path): try loadSingleFile(path, options: options)
        }
    }

    /// A component's weights in a diffusers folder, in the variant the options ask for.
    static func componentWeights(_ folder: String, _ component: String, base: String, options: LoadOptions) throws(FCSError) -> WeightReader {
        let full = "\(folder)/\(component)/\(base).safetensors", half = "\(folder)/\(component)/\(base).fp16.safetensors"
        let candidates = switch options.variant {
        case .automatic: [full, half]
        case .fp16: [half]
        case .fp32: [full]
        }
        guard let path = candidates.first(where: { fileKind($0) == .file }) else {
            throw .io("\(folder)/\(component): no \(candidates.map { String($0.split(separator: "/").last!) }.joined(separator: " or ")) (pickle .bin weights are never loaded)")
        }
        return WeightReader(file: try SafeTensorsFile(path: path)).storing(options.layerPrecision)
    }

    private static func loadFolder(_ folder: String, options: LoadOptions) throws(FCSError) -> StableDiffusion {
        try ModelIndex.read(folder: folder).require(
            ["unet": ["UNet2DConditionModel"], "vae": ["AutoencoderKL"], "text_encoder": ["CLIPTextModel"],
             "tokenizer": ["CLIPTokenizer", "CLIPTokenizerFast"]], source: folder + "/model_index.json")
        let configs = try StableDiffusionConfigs(folder: folder)
        func weights(_ component: String, base: String) throws(FCSError) -> WeightReader {
            try componentWeights(folder, component, base: base, options: options)
        }
        let loras = try LoRAMerge(options.loras)
        let textWeights = try weights("text_encoder", base: "model").merging(loras, as: .textEncoder)
        let textEncoder = try TextEncoder(config: configs.text, weights: textWeights) { () throws(FCSError) in
            try componentWeights(folder, "text_encoder", base: "model", options: options).merging(LoRAMerge(options.loras), as: .textEncoder)
        }
        let unetWeights = try weights("unet", base: "diffusion_pytorch_model").merging(loras, as: .unet)
        let unet = try UNet2DConditionModel(config: configs.unet, weights: unetWeights)
        let vaeWeights = try weights("vae", base: "diffusion_pytorch_model")
        let vae = try VAE(config: configs.vae, weights: vaeWeights) { () throws(FCSError) in
            try componentWeights(folder, "vae", base: "diffusion_pytorch_model", options: options)
        }
        for (reader, component) in [(textWeights, "text_encoder"), (unetWeights, "unet"), (vaeWeights, "vae")] {
            try rejectLeftovers(reader, "\(folder)/\(component)")
        }
        try loras.requireAllMerged()
        return StableDiffusion(tokenizer: configs.tokenizer, textEncoder: textEncoder, unet: unet, vae: vae, schedulerConfig: configs.scheduler)
    }

    /// An original SD 1.x / 2.x checkpoint, with the configs `options.configFolder` has and the
    /// others inferred from its tensors (``StableDiffusionConfigs/init(singleFile:configFolder:)``).
    private static func loadSingleFile(_ path: String, options: LoadOptions) throws(FCSError) -> StableDiffusion {
        let file = try SafeTensorsFile(path: path)
        let configs = try StableDiffusionConfigs(singleFile: file, configFolder: options.configFolder)
        let loras = try LoRAMerge(options.loras), precision = options.layerPrecision
        let textLayers = configs.text.numHiddenLayers
        let textWeights = SingleFileCheckpoint.weights(file, component: .textEncoder, textLayers: textLayers).storing(precision)
            .merging(loras, as: .textEncoder)
        let textEncoder = try TextEncoder(config: configs.text, weights: textWeights) { () throws(FCSError) in
            SingleFileCheckpoint.weights(try SafeTensorsFile(path: path), component: .textEncoder, textLayers: textLayers)
                .storing(precision).merging(try LoRAMerge(options.loras), as: .textEncoder)
        }
        let unetWeights = SingleFileCheckpoint.weights(file, component: .unet, layersPerBlock: configs.unet.layersPerBlock)
            .storing(precision).merging(loras, as: .unet)
        let vaeLevels = configs.vae.blockOutChannels.count
        let vaeWeights = SingleFileCheckpoint.weights(file, component: .vae, vaeLevels: vaeLevels).storing(precision)
        let vae = try VAE(config: configs.vae, weights: vaeWeights) { () throws(FCSError) in
            SingleFileCheckpoint.weights(try SafeTensorsFile(path: path), component: .vae, vaeLevels: vaeLevels).storing(precision)
        }
        let model = StableDiffusion(tokenizer: configs.tokenizer,
                                    textEncoder: textEncoder,
                                    unet: try UNet2DConditionModel(config: configs.unet, weights: unetWeights),
                                    vae: vae, schedulerConfig: configs.scheduler)
        for reader in [textWeights, unetWeights, vaeWeights] { try rejectLeftovers(reader, path) }
        try loras.requireAllMerged()
        return model
    }

    /// SD 1.5's networks with seeded random weights, for benchmarks (no file needed); `unetConfig`
    /// for another UNet shape (an LCM-distilled one's `time_cond_proj_dim`), with `loras` merged as
    /// ``load(_:options:)`` merges them.
    public static func random(seed: UInt64, precision: WeightPrecision = .float32,
                              unetConfig: UNet2DConditionModelConfig = UNet2DConditionModelConfig(),
                              loras references: [LoRAReference] = []) throws(FCSError) -> StableDiffusion {
        let loras = try LoRAMerge(references)
        let textWeights = { @Sendable (loras: LoRAMerge) in WeightReader.random(seed: seed).storing(precision).merging(loras, as: .textEncoder) }
        let model = StableDiffusion(
            tokenizer: try CLIPTokenizer.openAICLIP(),
            textEncoder: try TextEncoder(config: CLIPTextConfig(), weights: textWeights(loras)) { () throws(FCSError) in
                textWeights(try LoRAMerge(references))
            },
            unet: try UNet2DConditionModel(config: unetConfig, weights: .random(seed: seed + 1).storing(precision).merging(loras, as: .unet)),
            vae: try VAE(config: AutoencoderKLConfig(), weights: .random(seed: seed + 2).storing(precision)) {
                WeightReader.random(seed: seed + 2).storing(precision)
            })
        try loras.requireAllMerged()
        return model
    }

    /// The pixel-space UNet2DModel of a diffusers folder whose `model_index.json` names one (the
    /// DDPMPipeline layout, fcs's demo model) and its scheduler config, or nil when the folder
    /// holds another model.
    public static func loadPixelSpaceUNet(_ reference: String, options: LoadOptions = LoadOptions()) throws(FCSError)
        -> (unet: UNet2DModel, schedulerConfig: SchedulerConfig)? {
        guard case .diffusersFolder(let folder) = try ModelLocation.resolve(reference),
              try ModelIndex.read(folder: folder).className(of: "unet") == "UNet2DModel" else { return nil }
        let schedulerConfig = try SchedulerConfig.read(folder: folder)
        let configPath = "\(folder)/unet/config.json"
        let config: UNet2DModelConfig = try decodeConfig(configPath)
        let check = ConfigCheck(source: configPath)
        try check.known(config.inChannels, "in_channels", [3])  // the sampler's RGB images
        try check.known(config.outChannels, "out_channels", [3])
        let loras = try LoRAMerge(options.loras)
        let weights = try componentWeights(folder, "unet", base: "diffusion_pytorch_model", options: options).merging(loras, as: .unet)
        let unet = try UNet2DModel(config: config, weights: weights)
        try rejectLeftovers(weights, "\(folder)/unet")
        try loras.requireAllMerged()
        return (unet, schedulerConfig)
    }

    /// Tensors no layer read mean the file holds another model than its config describes.
    static func rejectLeftovers(_ weights: WeightReader, _ source: String) throws(FCSError) {
        let unread = weights.unreadTensors().filter { !$0.hasSuffix("position_ids") }
        guard unread.isEmpty else {
            throw .format("\(source): \(unread.count) tensor(s) the config has no place for, e.g. \(unread.prefix(3).joined(separator: ", "))")
        }
    }
}
