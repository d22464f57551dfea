// The denoiser the sampler drives: Stable Diffusion's text-conditioned UNet on VAE latents, or
// a pixel-space UNet2DModel (fcs's demo model) with no conditioning. The sampler only needs
// ε_θ(x_t, t[, c]).
import FCSModels
import FCSTensor

public protocol NoisePredictor: Sendable {
    /// How many times the network halves its input: sample sides must be multiples of 2^this.
    var downsamplings: Int { get }

    /// ε_θ(x_t, t, c).
    /// - Parameters:
    ///   - sample: x_t, `[B, C, h, w]`.
    ///   - conditioning: the text encoder's states `[B, 77, d]`; nil for an unconditional model.
    func predictNoise(_ sample: Tensor, timestep: Float, conditioning: Tensor?, in arena: ScratchArena) -> Tensor

    /// An upper estimate of the scratch memory one forward over `batch` samples of
    /// `height` × `width` needs, in bytes (the weights are not counted: they are loaded already).
    func estimatedWorkingSetBytes(height: Int, width: Int, batch: Int) -> Int
}

/// Scratch bytes of one UNet forward: the activation arena's peak grows with the sample's cells
/// and the first level's width (attention is tiled, so nothing grows faster). Measured on SD 1.5's
/// UNet (320 channels, random weights): 57–60 KB per latent cell and batch element at 16² and
/// 24² latents; 200 bytes per channel and cell (64 KB) bounds it, plus room for one layer's
/// widened 16-bit weights.
func unetWorkingSetBytes(firstLevelChannels: Int, height: Int, width: Int, batch: Int) -> Int {
    200 * firstLevelChannels * height * width * batch + 128 << 20
}

extension UNet2DConditionModel: NoisePredictor {
    public var downsamplings: Int { config.blockOutChannels.count - 1 }

    public func predictNoise(_ sample: Tensor, timestep: Float, conditioning: Tensor?, in arena: ScratchArena) -> Tensor {
        guard let conditioning else { preconditionFailure("UNet2DConditionModel needs text conditioning") }
        return self(sample, timestep: timestep, encoderHiddenStates: conditioning, in: arena)
    }

    public func estimatedWorkingSetBytes(height: Int, width: Int, batch: Int) -> Int {
        unetWorkingSetBytes(firstLevelChannels: config.blockOutChannels[0], height: height, width: width, batch: batch)
    }
}

extension UNet2DModel: NoisePredictor {
    public var downsamplings: Int { config.blockOutChannels.count - 1 }

    public func predictNoise(_ sample: Tensor, timestep: Float, conditioning: Tensor?, in arena: ScratchArena) -> Tensor {
        self(sample, timesteps: [Float](repeating: timestep, count: sample.shape[0]), in: arena)
    }

    public func estimatedWorkingSetBytes(height: Int, width: Int, batch: Int) -> Int {
        unetWorkingSetBytes(firstLevelChannels: config.blockOutChannels[0], height: height, width: width, batch: batch)
    }
}
