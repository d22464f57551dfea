// Deblurring's operator: y = k ∗ x, a convolution with a known point-spread function, the image
// mirrored at its borders (half-sample symmetric, scipy.ndimage's "reflect", as the resizer does).
//
// The lift is the exact adjoint Aᵀ (a correlation with k whose border contributions are folded
// back onto the pixels they were mirrored from), not a regularised inverse: Aᵀ is the gradient
// of ½‖y − k ∗ x‖², so it always points downhill; it needs no regularisation weight tuned to the
// noise (an inverse (AᵀA + μ)⁻¹Aᵀ amplifies noise by up to 1/(2√μ) wherever the blur erased the
// signal); and it costs one more convolution. Its drawback — frequencies that the blur nearly
// erased are corrected slowly — falls on exactly the detail that y cannot determine and the
// diffusion prior has to supply.
import FCSTensor
#if canImport(Glibc)
import Glibc
#endif

/// A = convolution with a normalised kernel, L = Aᵀ.
public struct Blur: LinearImageOperator {
    /// One convolution pass: taps at offsets from the kernel's centre.
    struct Pass: Sendable {
        let dy: [Int], dx: [Int], weights: [Float]
        /// How far the taps reach beyond the image on each side.
        let radiusY: Int, radiusX: Int
    }

    /// Applied one after another (two 1-D passes for a Gaussian, one for any other kernel).
    let passes: [Pass]
    /// The kernel's sides, for messages.
    public let kernelHeight: Int, kernelWidth: Int

    /// A blur by `kernel` (row-major `height × width`, centre at (height/2, width/2)), scaled to sum 1.
    /// - Throws: `.invalidArgument` when the sides are not odd (1 … 255), a weight is negative or
    ///   not finite, or every weight is 0.
    public init(kernel: [Float], height: Int, width: Int) throws(FCSError) {
        guard height % 2 == 1, width % 2 == 1, (1...255).contains(height), (1...255).contains(width) else {
            throw .invalidArgument("blur kernel: sides must be odd, 1 … 255, not \(width)×\(height)")
        }
        guard kernel.count == height * width else {
            throw .invalidArgument("blur kernel: \(kernel.count) weights for \(width)×\(height)")
        }
        guard kernel.allSatisfy({ $0.isFinite && $0 >= 0 }) else { throw .invalidArgument("blur kernel: weights must be finite and ≥ 0") }
        let sum = kernel.reduce(0, +)
        guard sum > 0, sum.isFinite else { throw .invalidArgument("blur kernel: every weight is 0") }
        var dy: [Int] = [], dx: [Int] = [], weights: [Float] = []
        for y in 0..<height {
            for x in 0..<width where kernel[y * width + x] != 0 {  // a motion kernel is mostly zeros
                dy.append(y - height / 2)
                dx.append(x - width / 2)
                weights.append(kernel[y * width + x] / sum)
            }
        }
        passes = [Pass(dy: dy, dx: dx, weights: weights, radiusY: height / 2, radiusX: width / 2)]
        (kernelHeight, kernelWidth) = (height, width)
    }

    /// A Gaussian blur of standard deviation `sigma` pixels, truncated at 4σ (scipy.ndimage's
    /// `gaussian_filter` and scikit-image's default), as two 1-D passes.
    public init(gaussianSigma sigma: Float) throws(FCSError) {
        guard sigma.isFinite, sigma > 0, sigma <= 30 else { throw .invalidArgument("blur sigma must be in (0, 30], not \(sigma)") }
        let radius = Int(4 * sigma + 0.5)
        var weights = (-radius...radius).map { exp(-0.5 * Float($0 * $0) / (sigma * sigma)) }
        let sum = weights.reduce(0, +)
        weights = weights.map { $0 / sum }
        let offsets = Array(-radius...radius), zeros = [Int](repeating: 0, count: offsets.count)
        passes = [Pass(dy: offsets, dx: zeros, weights: weights, radiusY: radius, radiusX: 0),
                  Pass(dy: zeros, dx: offsets, weights: weights, radiusY: 0, radiusX: radius)]
        (kernelHeight, kernelWidth) = (2 * radius + 1, 2 * radius + 1)
    }

    public func outputShape(_ shape: [Int]) -> [Int]? { shape.count == 4 ? shape : nil }

    /// k ∗ x on `[N, C, H, W]`.
    public func callAsFunction(_ image: Tensor) -> Tensor {
        passes.reduce(image) { convolve($0, $1) }
    }

    /// Aᵀ r: the passes' adjoints in reverse order.
    public func lift(_ residual: Tensor) -> Tensor {
        passes.reversed().reduce(residual) { correlate($0, $1) }
    }

    /// out[y, x] = Σ w · in[mirror(y − dy), mirror(x − dx)], through a mirrored copy of each plane.
    private func convolve(_ tensor: Tensor, _ pass: Pass) -> Tensor {
        let geometry = MirroredPlane(tensor.shape, pass), source = tensor.toArray()
        let (height, width, paddedHeight, paddedWidth) = (geometry.height, geometry.width, geometry.paddedHeight, geometry.paddedWidth)
        var padded = [Float](repeating: 0, count: paddedHeight * paddedWidth)
        var out = [Float](repeating: 0, count: source.count)
        for p in 0..<geometry.planes {
            let plane = p * height * width
            for y in 0..<paddedHeight {
                for x in 0..<paddedWidth { padded[y * paddedWidth + x] = source[plane + geometry.rows[y] * width + geometry.columns[x]] }
            }
            for t in pass.weights.indices {
                let w = pass.weights[t], originY = pass.radiusY - pass.dy[t], originX = pass.radiusX - pass.dx[t]
                for y in 0..<height {
                    let from = (y + originY) * paddedWidth + originX, to = plane + y * width
                    for x in 0..<width { out[to + x] += w * padded[from + x] }
                }
            }
        }
        return Tensor(shape: tensor.shape, values: out)
    }

    /// The exact adjoint of ``convolve(_:_:)``: scatter each residual through the taps into the
    /// mirrored copy, then add every mirrored position back onto the pixel it copies.
    private func correlate(_ tensor: Tensor, _ pass: Pass) -> Tensor {
        let geometry = MirroredPlane(tensor.shape, pass), source = tensor.toArray()
        let (height, width, paddedHeight, paddedWidth) = (geometry.height, geometry.width, geometry.paddedHeight, geometry.paddedWidth)
        var padded = [Float](repeating: 0, count: paddedHeight * paddedWidth)
        var out = [Float](repeating: 0, count: source.count)
        for p in 0..<geometry.planes {
            let plane = p * height * width
            for i in padded.indices { padded[i] = 0 }
            for t in pass.weights.indices {
                let w = pass.weights[t], originY = pass.radiusY - pass.dy[t], originX = pass.radiusX - pass.dx[t]
                for y in 0..<height {
                    let to = (y + originY) * paddedWidth + originX, from = plane + y * width
                    for x in 0..<width { padded[to + x] += w * source[from + x] }
                }
            }
            for y in 0..<paddedHeight {
                for x in 0..<paddedWidth { out[plane + geometry.rows[y] * width + geometry.columns[x]] += padded[y * paddedWidth + x] }
            }
        }
        return Tensor(shape: tensor.shape, values: out)
    }
}

/// A pass's mirrored copy of one `[N, C, H, W]` plane: its size, and for each of its rows and
/// columns the source row and column it copies (shared by the convolution and its adjoint).
private struct MirroredPlane {
    let planes, height, width, paddedHeight, paddedWidth: Int
    let rows, columns: [Int]

    init(_ shape: [Int], _ pass: Blur.Pass) {
        (planes, height, width) = (shape[0] * shape[1], shape[2], shape[3])
        (paddedHeight, paddedWidth) = (height + 2 * pass.radiusY, width + 2 * pass.radiusX)
        let (sourceHeight, sourceWidth) = (shape[2], shape[3])  // not self's: the closures run before init ends
        rows = (0..<paddedHeight).map { BicubicResizer.mirror($0 - pass.radiusY, size: sourceHeight) }
        columns = (0..<paddedWidth).map { BicubicResizer.mirror($0 - pass.radiusX, size: sourceWidth) }
    }
}
