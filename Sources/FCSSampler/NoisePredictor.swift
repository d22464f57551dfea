// The denoiser the sampler drives: Stable Diffusion's text-conditioned UNet on VAE latents, or
// a pixel-space UNet2DModel (fcs's demo model) with no conditioning. The sampler only needs
// ε_θ(x_t, t[, c]). LCM-distilled UNets also take the guidance weight w as an input (a
// guidance-scale embedding added to the time embedding, instead of classifier-free guidance's two
// predictions): the sampler passes w to every forward of a denoiser that `embedsGuidance`, so the
// value travels with each call, like t, and the network's loaded state stays request-free.
import FCSModels
import FCSTensor

public protocol NoisePredictor: Sendable {
    /// How many times the network halves its input: sample sides must be multiples of 2^this.
    var downsamplings: Int { get }

    /// Whether the network takes the guidance weight as an input (an LCM UNet's
    /// `time_cond_proj_dim`); such a network is never run in classifier-free guidance's batch of 2.
    var embedsGuidance: Bool { get }

    /// ε_θ(x_t, t, c[, w]).
    /// - Parameters:
    ///   - sample: x_t, `[B, C, h, w]`.
    ///   - conditioning: the prompt's conditioning (text states `[B, 77, d]`, …); nil for an unconditional model.
    ///   - guidanceWeight: w (diffusers' `guidance_scale − 1`) for a network that ``embedsGuidance``; nil otherwise.
    func predictNoise(_ sample: Tensor, timestep: Float, conditioning: Conditioning?, guidanceWeight: Float?, in arena: ScratchArena) -> Tensor

    /// An upper estimate of the scratch memory one forward over `batch` samples of
    /// `height` × `width` needs, in bytes (the weights are not counted: they are loaded already).
    func estimatedWorkingSetBytes(height: Int, width: Int, batch: Int) -> Int
}

extension NoisePredictor {
    public var embedsGuidance: Bool { false }

    /// ε_θ(x_t, t, c) with no guidance input.
    public func predictNoise(_ sample: Tensor, timestep: Float, conditioning: Conditioning?, in arena: ScratchArena) -> Tensor {
        predictNoise(sample, timestep: timestep, conditioning: conditioning, guidanceWeight: nil, in: arena)
    }
}

/// Scratch bytes of one UNet forward: the activation arena's peak grows with the sample's cells
/// and the first level's width (attention is tiled, so nothing grows faster). Measured on SD 1.5's
/// UNet (320 channels, random weights): 57–60 KB per latent cell and batch element at 16² and
/// 24² latents; 200 bytes per channel and cell (64 KB) bounds it, plus room for one layer's
/// widened 16-bit weights.
func unetWorkingSetBytes(firstLevelChannels: Int, height: Int, width: Int, batch: Int, precision: WeightPrecision) -> Int {
    // bf16: the sampler's DifferenceTape keeps bf16 layers' inputs (fp32) and outputs (bf16) of one
    // forward: 0.78 GiB for SD 1.5 at 512², batch 1 (`fcs bench precision`), 640 bytes per channel and cell
    let tape = precision == .bfloat16 ? 740 * firstLevelChannels * height * width * batch : 0
    return 200 * firstLevelChannels * height * width * batch + tape + 128 << 20
}

extension UNet2DConditionModel: NoisePredictor {
    public var downsamplings: Int { config.blockOutChannels.count - 1 }

    public var embedsGuidance: Bool { config.timeCondProjDim != nil }

    public func predictNoise(_ sample: Tensor, timestep: Float, conditioning: Conditioning?, guidanceWeight: Float?, in arena: ScratchArena) -> Tensor {
        guard let conditioning else { preconditionFailure("UNet2DConditionModel needs text conditioning") }
        let timestepCond = config.timeCondProjDim.map { guidanceScaleEmbedding([guidanceWeight ?? 0], embeddingDim: $0) }
        return self(sample, timestep: timestep, encoderHiddenStates: conditioning.textStates, timestepCond: timestepCond, in: arena)
    }

    public func estimatedWorkingSetBytes(height: Int, width: Int, batch: Int) -> Int {
        unetWorkingSetBytes(firstLevelChannels: config.blockOutChannels[0], height: height, width: width, batch: batch,
                            precision: precision)
    }
}

extension UNet2DModel: NoisePredictor {
    public var downsamplings: Int { config.blockOutChannels.count - 1 }

    public func predictNoise(_ sample: Tensor, timestep: Float, conditioning: Conditioning?, guidanceWeight: Float?, in arena: ScratchArena) -> Tensor {
        self(sample, timesteps: [Float](repeating: timestep, count: sample.shape[0]), in: arena)
    }

    public func estimatedWorkingSetBytes(height: Int, width: Int, batch: Int) -> Int {
        unetWorkingSetBytes(firstLevelChannels: config.blockOutChannels[0], height: height, width: width, batch: batch,
                            precision: precision)
    }
}
