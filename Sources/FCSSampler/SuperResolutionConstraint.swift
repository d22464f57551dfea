// Super-resolution as a constraint (spec §3.3–3.4): a special case of the general pixel task —
// y = A(x) with A the bicubic downsampler and its lift the bicubic upsampler
// (``BicubicDownsampling``), carried to latent space by the VAE-Newton transport:
//   img = D(x̂0/s);  r = U(y − A(img)), r /= ‖r‖∞;  e = s·(E(img + h·r) − E(img))
import FCSImaging
import FCSModels
import FCSTensor

public struct SuperResolutionConstraint: Constraint {
    /// y, the low-resolution image, `[1, 3, h, w]` in [-1, 1].
    public let lowResolution: Tensor
    public let factor: Int
    let measurement: LinearOperatorConstraint
    let transport: VAENewtonTransport

    /// - Parameters:
    ///   - lowResolution: `[1, 3, h, w]` in [-1, 1]; h·factor and w·factor must be multiples of 8.
    ///   - factor: 2, 4 or 8.
    ///   - codec: D and E of the transport: the model's VAE, or a tiny autoencoder into the same
    ///     latent space (``DiffusionModel/transportCodec``).
    ///   - finiteDifferenceStep: h of the encoder finite difference.
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
        measurement = try LinearOperatorConstraint(measurement: lowResolution, imageOperator: try BicubicDownsampling(factor: factor),
                                                   imageShape: [1, 3, height, width])
        transport = try VAENewtonTransport(measurement, codec: codec, finiteDifferenceStep: finiteDifferenceStep)
    }

    /// The latent shape of the high-resolution image, `[1, 4, h·f/8, w·f/8]`.
    public var latentShape: [Int] { transport.latentShape }

    /// ‖y − A(D(x̂0/s))‖₂, the constraint's residual in pixels.
    public func residual(predictedClean x0: Tensor, in arena: ScratchArena) -> Float {
        arena.scope { measurement.residualNorm(transport.decode(x0, in: arena)) }
    }

    public func errorDirection(predictedClean x0: Tensor, in arena: ScratchArena) throws(FCSError) -> Tensor {
        try transport.errorDirection(predictedClean: x0, in: arena)
    }
}
