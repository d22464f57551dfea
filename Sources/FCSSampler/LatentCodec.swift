// Between pixels and the space the denoiser works in: SD's VAE (latents 8× smaller, scaled by
// scaling_factor), or the identity for pixel-space models. Constraints are written against this,
// so inpainting and super-resolution run on both. A model holds a ``LatentSpace``: what the
// tasks need to know of the space, and the codec itself only while they run it (SD's VAE is
// built for each use, not held through sampling).
import FCSModels
import FCSTensor

/// A sample space and the way to its codec.
public protocol LatentSpace: Sendable {
    /// Pixels per latent cell along a side.
    var downsamplingFactor: Int { get }
    /// Channels of the sample space.
    var latentChannels: Int { get }
    /// The factor between the codec's output and what the denoiser sees.
    var scalingFactor: Float { get }
    /// An upper estimate of the scratch bytes of encoding or decoding a `height` × `width` image.
    func estimatedWorkingSetBytes(height: Int, width: Int) throws(FCSError) -> Int
    /// Runs `body` with the codec resident: the one held now by an enclosing call, or one built
    /// for it and released after.
    func withCodec<Result>(_ body: (any LatentCodec) throws(FCSError) -> Result) throws(FCSError) -> Result
}

/// A codec that is resident as long as it exists.
public protocol LatentCodec: LatentSpace {
    /// E(image): the posterior mean (unscaled), `[1, latentChannels, H/f, W/f]`.
    func encodeMean(_ image: Tensor, in arena: ScratchArena) -> Tensor
    /// D(latents) for unscaled latents, `[1, 3, H, W]`.
    func decode(_ latents: Tensor, in arena: ScratchArena) -> Tensor
    /// ``encodeMean(_:in:)`` that calls `shouldContinue` before each piece of work (a VAE tile).
    /// - Throws: `.cancelled` when `shouldContinue` returns false; `.outOfMemory` when the system
    ///   refuses the working set.
    func encodeMean(_ image: Tensor, in arena: ScratchArena, shouldContinue: () -> Bool) throws(FCSError) -> Tensor
    /// ``decode(_:in:)`` that calls `shouldContinue` before each piece of work (a VAE tile).
    func decode(_ latents: Tensor, in arena: ScratchArena, shouldContinue: () -> Bool) throws(FCSError) -> Tensor
}

extension LatentCodec {
    public func withCodec<Result>(_ body: (any LatentCodec) throws(FCSError) -> Result) throws(FCSError) -> Result {
        try body(self)
    }

    /// A codec that runs in one piece asks once.
    public func encodeMean(_ image: Tensor, in arena: ScratchArena, shouldContinue: () -> Bool) throws(FCSError) -> Tensor {
        guard shouldContinue() else { throw FCSError(.cancelled, "cancelled before encoding") }
        return encodeMean(image, in: arena)
    }

    public func decode(_ latents: Tensor, in arena: ScratchArena, shouldContinue: () -> Bool) throws(FCSError) -> Tensor {
        guard shouldContinue() else { throw FCSError(.cancelled, "cancelled before decoding") }
        return decode(latents, in: arena)
    }
}

extension AutoencoderKL: LatentCodec {
    public var downsamplingFactor: Int { 1 << (config.blockOutChannels.count - 1) }
    public var latentChannels: Int { config.latentChannels }
    public var scalingFactor: Float { config.scalingFactor }
    public func encodeMean(_ image: Tensor, in arena: ScratchArena) -> Tensor { encode(image, in: arena).mean }

    /// Tile by tile (``AutoencoderKL/encode(_:in:shouldContinue:)``); `decode(_:in:shouldContinue:)`
    /// is AutoencoderKL's own.
    public func encodeMean(_ image: Tensor, in arena: ScratchArena, shouldContinue: () -> Bool) throws(FCSError) -> Tensor {
        try encode(image, in: arena, shouldContinue: shouldContinue).mean
    }

    /// The larger of the encoder's and the decoder's arena peak (tiled above one tile).
    public func estimatedWorkingSetBytes(height: Int, width: Int) -> Int {
        max(estimatedWorkingSetBytes(.encode, height: height, width: width), estimatedWorkingSetBytes(.decode, height: height, width: width))
    }
}

/// SD's VAE, built for each use (``VAE``).
extension VAE: LatentSpace {
    public var downsamplingFactor: Int { 1 << (config.blockOutChannels.count - 1) }
    public var latentChannels: Int { config.latentChannels }
    public var scalingFactor: Float { config.scalingFactor }

    public func estimatedWorkingSetBytes(height: Int, width: Int) throws(FCSError) -> Int {
        try withResident { $0.estimatedWorkingSetBytes(height: height, width: width) }
    }

    public func withCodec<Result>(_ body: (any LatentCodec) throws(FCSError) -> Result) throws(FCSError) -> Result {
        try withResident { (autoencoder) throws(FCSError) in try body(autoencoder) }
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
