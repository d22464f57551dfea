// Colourisation's operator: y = the luminance of x, Rec. 601 luma Y = 0.299 R + 0.587 G + 0.114 B
// (the grey conversion of fcs's image I/O, of libvips and of PIL's "L"). On [-1, 1] values it is
// the same linear map, since the weights sum to 1.
//
// The lift adds the residual to all three channels: a grey change, an exact right inverse
// (A·L = I, every luminance error is corrected at the same rate) that leaves the chroma to the
// diffusion prior. The adjoint would push the residual mostly into green and tint the result.
import FCSTensor

/// A = Rec. 601 luma of `[N, 3, H, W]` → `[N, 1, H, W]`, L = the residual on every channel.
public struct Luminance: LinearImageOperator {
    /// Rec. 601's weights of R, G and B.
    public static let weights: [Float] = [0.299, 0.587, 0.114]

    public init() {}

    public func outputShape(_ shape: [Int]) -> [Int]? {
        guard shape.count == 4, shape[1] == 3 else { return nil }
        return [shape[0], 1, shape[2], shape[3]]
    }

    public func callAsFunction(_ image: Tensor) -> Tensor {
        let (batch, plane) = (image.shape[0], image.shape[2] * image.shape[3]), source = image.toArray(), w = Self.weights
        var out = [Float](repeating: 0, count: batch * plane)
        for n in 0..<batch {
            for i in 0..<plane {
                let rgb = 3 * n * plane + i
                out[n * plane + i] = w[0] * source[rgb] + w[1] * source[rgb + plane] + w[2] * source[rgb + 2 * plane]
            }
        }
        return Tensor(shape: [batch, 1, image.shape[2], image.shape[3]], values: out)
    }

    public func lift(_ residual: Tensor) -> Tensor {
        let plane = residual.shape[2] * residual.shape[3], source = residual.toArray()
        var out = [Float](repeating: 0, count: 3 * source.count)
        for n in 0..<residual.shape[0] {
            for c in 0..<3 { for i in 0..<plane { out[(3 * n + c) * plane + i] = source[n * plane + i] } }
        }
        return Tensor(shape: [residual.shape[0], 3, residual.shape[2], residual.shape[3]], values: out)
    }

    /// `image` (`[1, 3, H, W]` in [-1, 1]) with each pixel's luminance set to `luminance`'s
    /// (`[1, 1, H, W]`): the grey shift c with Y(clamp(x + c)) = y, found by bisection (Y of the
    /// clamped pixel grows with c), so the result stays in [-1, 1] and keeps its chroma where no
    /// channel clips.
    public func replacing(luminanceOf image: Tensor, with luminance: Tensor) -> Tensor {
        let plane = image.shape[2] * image.shape[3], w = Self.weights, target = luminance.toArray()
        var pixels = image.toArray()
        func clamped(_ v: Float) -> Float { min(1, max(-1, v)) }
        for i in 0..<plane {
            let (r, g, b) = (pixels[i], pixels[i + plane], pixels[i + 2 * plane])
            let y = clamped(target[i])
            func luma(_ c: Float) -> Float { w[0] * clamped(r + c) + w[1] * clamped(g + c) + w[2] * clamped(b + c) }
            var (low, high): (Float, Float) = (-2 - max(r, g, b), 2 - min(r, g, b))  // luma(low) = −1, luma(high) = 1
            for _ in 0..<40 {
                let middle = (low + high) / 2
                if luma(middle) < y { low = middle } else { high = middle }
            }
            let c = (low + high) / 2
            (pixels[i], pixels[i + plane], pixels[i + 2 * plane]) = (clamped(r + c), clamped(g + c), clamped(b + c))
        }
        return Tensor(shape: image.shape, values: pixels)
    }
}
