// Super-resolution as a constraint with the forward-only "VAE-Newton" transport of spec §3.4
// (ZoomLDM; the official superres_vae_newton notebook): the pixel residual y − A(D(x̂0)) is
// upsampled by U, and carried into latent space by a finite difference through the encoder,
// which stands in for the decoder's inverse — so no backward pass anywhere.
//   img = D(x̂0/s);  r = U(y − A(img)), r /= ‖r‖∞;  e = s·(E(img + h·r) − E(img))   (E = posterior mean)
import FCSImaging
import FCSModels
import FCSTensor

public struct SuperResolutionConstraint: Constraint {
    /// y, the low-resolution image, `[1, 3, h, w]` in [-1, 1].
    public let lowResolution: Tensor
    public let factor: Int
    /// h of the encoder finite difference (pixel units, [-1, 1] scale).
    public let finiteDifferenceStep: Float
    let codec: any LatentCodec
    let downsample: BicubicResizer  // A
    let upsample: BicubicResizer    // U

    /// - Parameters:
    ///   - lowResolution: `[1, 3, h, w]` in [-1, 1]; h·factor and w·factor must be multiples of 8.
    ///   - factor: 2, 4 or 8.
    ///   - codec: D and E of the transport: the model's VAE, or a tiny autoencoder into the same
    ///     latent space (``DiffusionModel/transportCodec``).
    public init(lowResolution: Tensor, factor: Int, codec: any LatentCodec, finiteDifferenceStep: Float = 0.005) throws(FCSError) {
        guard [2, 4, 8].contains(factor) else { throw .invalidArgument("super-resolution: scale must be 2, 4 or 8, not \(factor)") }
        guard lowResolution.rank == 4, lowResolution.shape[0] == 1, lowResolution.shape[1] == 3 else {
            throw .invalidArgument("super-resolution: image must be [1, 3, h, w], not \(lowResolution.shape)")
        }
        let latentFactor = codec.downsamplingFactor
        let (height, width) = (lowResolution.shape[2] * factor, lowResolution.shape[3] * factor)
        guard height % latentFactor == 0, width % latentFactor == 0, height > 0, width > 0 else {
            throw .invalidArgument("super-resolution: the output (\(width)×\(height)) must have sides that are multiples of \(latentFactor)")
        }
        guard lowResolution.toArray().allSatisfy(\.isFinite) else { throw .invalidArgument("super-resolution: image contains NaN or infinity") }
        guard finiteDifferenceStep > 0, finiteDifferenceStep.isFinite else { throw .invalidArgument("super-resolution: h must be positive") }
        self.lowResolution = lowResolution
        self.factor = factor
        self.finiteDifferenceStep = finiteDifferenceStep
        self.codec = codec
        downsample = try BicubicResizer(scale: 1 / Double(factor))
        upsample = try BicubicResizer(scale: Double(factor))
    }

    /// The latent shape of the high-resolution image, `[1, 4, h·f/8, w·f/8]`.
    public var latentShape: [Int] {
        let latentFactor = codec.downsamplingFactor
        return [1, codec.latentChannels, lowResolution.shape[2] * factor / latentFactor, lowResolution.shape[3] * factor / latentFactor]
    }

    /// ‖y − A(D(x̂0/s))‖₂, the constraint's residual in pixels.
    public func residual(predictedClean x0: Tensor, in arena: ScratchArena) -> Float {
        arena.scope {
            let image = decode(x0, in: arena)
            let r = zip(lowResolution.toArray(), downsample(image).toArray()).map { $0 - $1 }
            return r.map { $0 * $0 }.reduce(0, +).squareRoot()
        }
    }

    public func errorDirection(predictedClean x0: Tensor, in arena: ScratchArena) -> Tensor {
        let image = decode(x0, in: arena)
        // r = U(y − A(img)), normalised
        let lowResidual = Tensor(shape: lowResolution.shape, values: zip(lowResolution.toArray(), downsample(image).toArray()).map { $0 - $1 })
        var r = upsample(lowResidual).toArray()
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

    private func decode(_ x0: Tensor, in arena: ScratchArena) -> Tensor {
        let s = codec.scalingFactor
        return codec.decode(Tensor(shape: x0.shape, values: x0.toArray().map { $0 / s }), in: arena)
    }
}
