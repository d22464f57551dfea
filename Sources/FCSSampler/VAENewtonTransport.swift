// The forward-only "VAE-Newton" transport of spec §3.4 (ZoomLDM; the official
// superres_vae_newton notebook): a desired pixel change r of D(x̂0) is carried into latent space
// by a finite difference through the encoder, which stands in for the decoder's inverse — so no
// backward pass anywhere.
//   img = D(x̂0/s);  r = the pixel constraint's change at img, r /= ‖r‖∞;  e = s·(E(img + h·r) − E(img))
// (E = the posterior mean).
import FCSModels
import FCSTensor

/// Any ``PixelConstraint`` as a latent ``Constraint``.
public struct VAENewtonTransport: Constraint {
    public let pixelConstraint: any PixelConstraint
    /// h of the encoder finite difference (pixel units, [-1, 1] scale).
    public let finiteDifferenceStep: Float
    let codec: any LatentCodec

    /// - Parameter codec: D and E of the transport: the model's VAE, or a tiny autoencoder into
    ///   the same latent space (``DiffusionModel/transportCodec``).
    /// - Throws: `.invalidArgument` when the image's sides are not positive multiples of the
    ///   codec's downsampling factor, or h is not positive.
    public init(_ pixelConstraint: any PixelConstraint, codec: any LatentCodec, finiteDifferenceStep: Float = 0.005) throws(FCSError) {
        let shape = pixelConstraint.imageShape, factor = codec.downsamplingFactor
        guard shape.count == 4, shape[0] == 1, shape[1] == 3, shape[2] > 0, shape[3] > 0 else {
            throw .invalidArgument("pixel constraint: the image must be [1, 3, H, W], not \(shape)")
        }
        guard shape[2] % factor == 0, shape[3] % factor == 0 else {
            throw .invalidArgument("pixel constraint: the image (\(shape[3])×\(shape[2])) must have sides that are multiples of \(factor)")
        }
        guard finiteDifferenceStep > 0, finiteDifferenceStep.isFinite else { throw .invalidArgument("pixel constraint: h must be positive") }
        (self.pixelConstraint, self.codec, self.finiteDifferenceStep) = (pixelConstraint, codec, finiteDifferenceStep)
    }

    /// `[1, latentChannels, H/f, W/f]`.
    public var latentShape: [Int] {
        let shape = pixelConstraint.imageShape, factor = codec.downsamplingFactor
        return [1, codec.latentChannels, shape[2] / factor, shape[3] / factor]
    }

    public func errorDirection(predictedClean x0: Tensor, in arena: ScratchArena) throws(FCSError) -> Tensor {
        let image = decode(x0, in: arena)
        var r = try pixelConstraint.pixelChange(decoded: image, in: arena).toArray()
        guard r.count == image.count else {
            throw .internal("pixel constraint: a change of \(r.count) values for an image of \(image.count)")
        }
        let rMax = r.map(abs).max() ?? 0
        let e = arena.zeros(x0.shape)
        guard rMax > 0, rMax.isFinite else { return e }
        r = r.map { $0 / rMax }
        let s = codec.scalingFactor, h = finiteDifferenceStep
        let base = codec.encodeMean(image, in: arena).toArray()
        let moved = codec.encodeMean(Tensor(shape: image.shape, values: zip(image.toArray(), r).map { $0 + h * $1 }), in: arena).toArray()
        for i in 0..<e.count { e.data[i] = s * (moved[i] - base[i]) }
        return e
    }

    /// D(x̂0/s), unclamped.
    func decode(_ x0: Tensor, in arena: ScratchArena) -> Tensor {
        let s = codec.scalingFactor
        return codec.decode(Tensor(shape: x0.shape, values: x0.toArray().map { $0 / s }), in: arena)
    }
}
