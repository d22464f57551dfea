// Super-resolution's operator (spec §3.3–3.4): A = the antialiased bicubic downsampler of the
// official code, lifted by the bicubic upsampler U, an approximate right inverse (A·U ≈ I on the
// low-resolution image), as the VAE-Newton notebook and ZoomLDM do.
import FCSTensor

/// A = resize(1/f), L = resize(f), both ``BicubicResizer``.
public struct BicubicDownsampling: LinearImageOperator {
    public let factor: Int
    let downsample: BicubicResizer, upsample: BicubicResizer

    /// - Parameter factor: the downsampling factor, ≥ 1.
    public init(factor: Int) throws(FCSError) {
        guard factor >= 1 else { throw .invalidArgument("downsampling factor must be at least 1, not \(factor)") }
        self.factor = factor
        downsample = try BicubicResizer(scale: 1 / Double(factor))
        upsample = try BicubicResizer(scale: Double(factor))
    }

    public func outputShape(_ shape: [Int]) -> [Int]? {
        guard shape.count == 4, shape[2] % factor == 0, shape[3] % factor == 0 else { return nil }
        return [shape[0], shape[1], shape[2] / factor, shape[3] / factor]
    }

    public func callAsFunction(_ image: Tensor) -> Tensor { downsample(image) }

    public func lift(_ residual: Tensor) -> Tensor { upsample(residual) }
}
