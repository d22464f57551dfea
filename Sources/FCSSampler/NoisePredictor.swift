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
}

extension UNet2DConditionModel: NoisePredictor {
    public var downsamplings: Int { config.blockOutChannels.count - 1 }

    public func predictNoise(_ sample: Tensor, timestep: Float, conditioning: Tensor?, in arena: ScratchArena) -> Tensor {
        guard let conditioning else { preconditionFailure("UNet2DConditionModel needs text conditioning") }
        return self(sample, timestep: timestep, encoderHiddenStates: conditioning, in: arena)
    }
}

extension UNet2DModel: NoisePredictor {
    public var downsamplings: Int { config.blockOutChannels.count - 1 }

    public func predictNoise(_ sample: Tensor, timestep: Float, conditioning: Tensor?, in arena: ScratchArena) -> Tensor {
        self(sample, timesteps: [Float](repeating: timestep, count: sample.shape[0]), in: arena)
    }
}
