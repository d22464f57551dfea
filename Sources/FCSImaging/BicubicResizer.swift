// The resizer of the official super-resolution code (A. Shocher's ResizeRight, spec §3.3):
// separable Keys cubic (a = −0.5) with antialiasing when downscaling (the kernel stretched to
// 4/scale taps and scaled by `scale`), weights normalised per output pixel, symmetric
// (half-sample) mirroring at the borders, centre-preserving coordinates
// p_in = p_out/scale + (in − 1)/2 − (out − 1)/(2·scale) (MATLAB imresize), output size
// ceil(in · scale), dimensions done in ascending order of scale. Computed in float64 like the
// numpy reference, stored as float32.
import FCSTensor

/// A (down or up) by `scale` on NCHW images: A = resize(1/f) and U = resize(f) of spec §3.3–3.4.
public struct BicubicResizer: Sendable {
    /// Per output position along one dimension: input indices (already mirrored) and weights.
    struct Taps: Sendable {
        let inputSize: Int, outputSize: Int, count: Int
        let indices: [Int]
        let weights: [Double]

        init(inputSize: Int, outputSize: Int, scale: Double) {
            let antialias = scale < 1
            let support = antialias ? 4 / scale : 4
            let eps = Double(Float.ulpOfOne)
            count = Int((support - eps).rounded(.up))
            var indices: [Int] = [], weights: [Double] = []
            for j in 0..<outputSize {
                let center = Double(j) / scale + Double(inputSize - 1) / 2 - Double(outputSize - 1) / (2 * scale)
                let left = Int((center - support / 2 - eps).rounded(.up))
                var row = (0..<count).map { t in
                    let distance = center - Double(left + t)
                    return antialias ? scale * BicubicResizer.cubic(scale * distance) : BicubicResizer.cubic(distance)
                }
                let sum = row.reduce(0, +)
                if sum != 0 { row = row.map { $0 / sum } }
                weights += row
                indices += (0..<count).map { BicubicResizer.mirror(left + $0, size: inputSize) }
            }
            (self.inputSize, self.outputSize, self.indices, self.weights) = (inputSize, outputSize, indices, weights)
        }
    }

    /// Keys' cubic convolution kernel with a = −0.5.
    static func cubic(_ x: Double) -> Double {
        let a = abs(x), a2 = a * a, a3 = a2 * a
        if a <= 1 { return 1.5 * a3 - 2.5 * a2 + 1 }
        if a <= 2 { return -0.5 * a3 + 2.5 * a2 - 4 * a + 2 }
        return 0
    }

    /// numpy's `symmetric` padding: …, 1, 0 | 0, 1, …, n−1 | n−1, n−2, …, repeating.
    static func mirror(_ i: Int, size: Int) -> Int {
        let period = 2 * size
        let m = ((i % period) + period) % period
        return m < size ? m : period - 1 - m
    }

    public let scale: Double

    /// - Parameter scale: output size / input size, e.g. 1/8 for A of ×8 super-resolution, 8 for U.
    public init(scale: Double) throws(FCSError) {
        guard scale > 0, scale.isFinite else { throw .invalidArgument("resize scale must be positive, not \(scale)") }
        self.scale = scale
    }

    /// The output size of a side of `size` pixels: ceil(size · scale) (rounding off float noise).
    public func outputSize(_ size: Int) -> Int { Int((Double(size) * scale - 1e-9).rounded(.up)) }

    /// Resizes `[N, C, H, W]` to `[N, C, ceil(H·scale), ceil(W·scale)]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "BicubicResizer: expected [N, C, H, W]")
        let (planes, height, width) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        let (outHeight, outWidth) = (outputSize(height), outputSize(width))
        let rows = Taps(inputSize: height, outputSize: outHeight, scale: scale)
        let columns = Taps(inputSize: width, outputSize: outWidth, scale: scale)
        var source = x.toArray().map(Double.init)
        // equal scales: height first, as the reference sorts dimensions stably by scale
        var intermediate = [Double](repeating: 0, count: planes * outHeight * width)
        for p in 0..<planes {
            for j in 0..<outHeight {
                for t in 0..<rows.count {
                    let w = rows.weights[j * rows.count + t], row = rows.indices[j * rows.count + t]
                    for c in 0..<width { intermediate[(p * outHeight + j) * width + c] += w * source[(p * height + row) * width + c] }
                }
            }
        }
        source = []
        var out = [Float](repeating: 0, count: planes * outHeight * outWidth)
        for p in 0..<planes {
            for r in 0..<outHeight {
                for j in 0..<outWidth {
                    var sum = 0.0
                    for t in 0..<columns.count {
                        sum += columns.weights[j * columns.count + t] * intermediate[(p * outHeight + r) * width + columns.indices[j * columns.count + t]]
                    }
                    out[(p * outHeight + r) * outWidth + j] = Float(sum)
                }
            }
        }
        return Tensor(shape: [x.shape[0], x.shape[1], outHeight, outWidth], values: out)
    }
}
