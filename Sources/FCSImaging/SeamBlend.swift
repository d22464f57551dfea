// The seam between generated and kept pixels (inpainting's paste-back, the context window's
// blend): an alpha that covers the pixels to fill and fades out over a few pixels around them,
// so no edge shows where the sampler's image meets the original.
import FCSTensor

/// 1 on every pixel to fill, 0 beyond 2·radius from them, a smooth ramp between: the fill mask
/// dilated by `radius`, then box-blurred by `radius` (so no fill pixel is blended down).
public func seamAlpha(_ fill: [Float], height: Int, width: Int, radius: Int) -> [Float] {
    func boxMax(_ source: [Float], horizontal: Bool, average: Bool) -> [Float] {
        var out = source
        for y in 0..<height {
            for x in 0..<width {
                var accumulated: Float = 0
                for d in -radius...radius {
                    let (sy, sx) = horizontal ? (y, min(max(x + d, 0), width - 1)) : (min(max(y + d, 0), height - 1), x)
                    let v = source[sy * width + sx]
                    accumulated = average ? accumulated + v : max(accumulated, v)
                }
                out[y * width + x] = average ? accumulated / Float(2 * radius + 1) : accumulated
            }
        }
        return out
    }
    let binary = fill.map { $0 != 0 ? Float(1) : 0 }
    let dilated = boxMax(boxMax(binary, horizontal: true, average: false), horizontal: false, average: false)
    return boxMax(boxMax(dilated, horizontal: true, average: true), horizontal: false, average: true)
}
