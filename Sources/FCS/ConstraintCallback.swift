// fcs_constraint_callback as a PixelConstraint: D(x̂0) goes to the caller as an interleaved F32
// image in 0…1, the change and weight it writes come back as a planar change in [-1, 1] units.
import CFCS
import FCSSampler
import FCSTensor

/// The caller's constraint. The sampler calls it on the thread of the C call, never concurrently;
/// the user data is the caller's to make safe (hence unchecked).
struct ConstraintCallback: PixelConstraint, @unchecked Sendable {
    let callback: fcs_constraint_callback
    let userData: UnsafeMutableRawPointer?
    let imageShape: [Int]

    func pixelChange(decoded image: Tensor, in arena: ScratchArena) throws(FCSError) -> Tensor {
        let (height, width) = (imageShape[2], imageShape[3]), plane = height * width
        let values = image.toArray()
        var estimate = [Float](repeating: 0, count: 3 * plane), change = estimate
        var weight = [Float](repeating: 1, count: plane)
        for i in 0..<plane { for c in 0..<3 { estimate[3 * i + c] = (values[c * plane + i] + 1) / 2 } }
        let status = estimate.withUnsafeMutableBytes { estimateBytes in
            change.withUnsafeMutableBytes { changeBytes in
                weight.withUnsafeMutableBytes { weightBytes in
                    func descriptor(_ bytes: UnsafeMutableRawBufferPointer, channels: Int) -> fcs_image {
                        fcs_image(width: Int32(width), height: Int32(height), channels: Int32(channels), format: FCS_PIXEL_F32,
                                  stride: width * channels * 4, data: bytes.baseAddress)
                    }
                    var (e, d, w) = (descriptor(estimateBytes, channels: 3), descriptor(changeBytes, channels: 3), descriptor(weightBytes, channels: 1))
                    return callback(&e, &d, &w, userData)
                }
            }
        }
        guard status == 0 else { throw FCSError(.cancelled, "the constraint callback returned \(status)") }
        let out = arena.tensor(imageShape)
        for i in 0..<plane {
            guard weight[i].isFinite, weight[i] >= 0 else {
                throw .invalidArgument("the constraint callback wrote weight \(weight[i]) at (\(i % width), \(i / width)); weights must be finite and ≥ 0")
            }
            for c in 0..<3 {
                let value = change[3 * i + c]
                guard value.isFinite else {
                    throw .invalidArgument("the constraint callback wrote a change of \(value) at (\(i % width), \(i / width)); changes must be finite")
                }
                out.data[c * plane + i] = 2 * value * weight[i]  // 0…1 units to [-1, 1]
            }
        }
        return out
    }
}
