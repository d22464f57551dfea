// Between pixels and the space the denoiser works in: SD's VAE (latents 8× smaller, scaled by
// scaling_factor), or the identity for pixel-space models. Constraints are written against this,
// so inpainting and super-resolution run on both.
import FCSModels
import FCSTensor

public protocol LatentCodec: Sendable {
    /// Pixels per latent cell along a side.
    var downsamplingFactor: Int { get }
    /// Channels of the sample space.
    var latentChannels: Int { get }
    /// The factor between the codec's output and what the denoiser sees.
    var scalingFactor: Float { get }
    /// E(image): the posterior mean (unscaled), `[1, latentChannels, H/f, W/f]`.
    func encodeMean(_ image: Tensor, in arena: ScratchArena) -> Tensor
    /// D(latents) for unscaled latents, `[1, 3, H, W]`.
    func decode(_ latents: Tensor, in arena: ScratchArena) -> Tensor
    /// An upper estimate of the scratch bytes of encoding or decoding a `height` × `width` image.
    func estimatedWorkingSetBytes(height: Int, width: Int) -> Int
}

extension AutoencoderKL: LatentCodec {
    public var downsamplingFactor: Int { 1 << (config.blockOutChannels.count - 1) }
    public var latentChannels: Int { config.latentChannels }
    public var scalingFactor: Float { config.scalingFactor }
    public func encodeMean(_ image: Tensor, in arena: ScratchArena) -> Tensor { encode(image, in: arena).mean }

    /// Measured on SD 1.5's VAE (128 channels at full resolution, random weights): the decoder's
    /// arena peaks at 7.7 KB per pixel at 192², the encoder's at 5.1 KB; 64 bytes per channel and
    /// pixel bounds both.
    public func estimatedWorkingSetBytes(height: Int, width: Int) -> Int {
        64 * config.blockOutChannels[0] * height * width + 32 << 20
    }
}

/// Pixel-space models: the sample space is the image itself ([-1, 1], 3 channels).
public struct IdentityCodec: LatentCodec {
    public init() {}
    public var downsamplingFactor: Int { 1 }
    public var latentChannels: Int { 3 }
    public var scalingFactor: Float { 1 }
    public func encodeMean(_ image: Tensor, in arena: ScratchArena) -> Tensor { image }
    public func decode(_ latents: Tensor, in arena: ScratchArena) -> Tensor { latents }
    public func estimatedWorkingSetBytes(height: Int, width: Int) -> Int { 0 }
}
