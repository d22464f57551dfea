// fcs_image ↔ the sampler's tensors. Images cross the ABI as interleaved U8 (0…255) or F32
// (0…1) rows with 1, 3 or 4 channels; the sampler works on planar RGB in [-1, 1]. Grey is
// replicated to RGB and averaged back (Rec. 601 luma); alpha never reaches the model.
import CFCS
import FCSSampler
import FCSTensor
#if canImport(Glibc)
import Glibc
#endif

/// An fcs_image the caller passed: its descriptor checked when made (no pixel is read before
/// every size computation has been checked for overflow), its pixels converted on demand, so
/// that a request can be refused for its size before any large buffer is allocated.
struct InputImage {
    let width: Int, height: Int, channels: Int
    let format: fcs_pixel_format
    private let name: String
    private let base: UnsafeRawPointer
    private let rowStride: Int

    /// - Parameter name: the argument's name, for error messages.
    init(_ image: UnsafePointer<fcs_image>?, name: String) throws(FCSError) {
        guard let image = image?.pointee else { throw .invalidArgument("\(name) is NULL") }
        guard let data = image.data else { throw .invalidArgument("\(name).data is NULL") }
        guard image.width > 0, image.height > 0 else {
            throw .invalidArgument("\(name) is \(image.width)×\(image.height); both sides must be positive")
        }
        guard Int(image.width) * Int(image.height) <= RequestLimits.maxImagePixels else {
            throw .invalidArgument("\(name) is \(image.width)×\(image.height), more than 2^28 pixels")
        }
        guard [1, 3, 4].contains(image.channels) else { throw .invalidArgument("\(name).channels is \(image.channels); fcs takes 1, 3 or 4") }
        guard image.format == FCS_PIXEL_U8 || image.format == FCS_PIXEL_F32 else {
            throw .invalidArgument("\(name).format is \(image.format.rawValue), neither FCS_PIXEL_U8 nor FCS_PIXEL_F32")
        }
        (width, height, channels, format) = (Int(image.width), Int(image.height), Int(image.channels), image.format)
        let sampleBytes = format == FCS_PIXEL_U8 ? 1 : 4, packed = width * channels * sampleBytes  // < 2^37: no overflow
        // The caller's buffer must hold (height − 1) · stride + one row, within the address space:
        // checked in unsigned arithmetic, as the caller wrote the values.
        let callerStride = UInt(bitPattern: image.stride)  // size_t, imported as Int
        let stride = callerStride == 0 ? UInt(packed) : callerStride
        guard stride >= UInt(packed) else { throw .invalidArgument("\(name).stride is \(callerStride) bytes, less than a row (\(packed))") }
        let (rows, rowsOverflow) = UInt(height - 1).multipliedReportingOverflow(by: stride)
        let (extent, extentOverflow) = rows.addingReportingOverflow(UInt(packed))
        let (end, addressOverflow) = UInt(bitPattern: data).addingReportingOverflow(extent)
        // no process's memory reaches past 2^56 (x86-64 with 5-level page tables; less elsewhere)
        guard !rowsOverflow, !extentOverflow, !addressOverflow, end <= 1 << 56 else {
            throw .invalidArgument("\(name): \(image.height) rows of stride \(callerStride) bytes do not fit in memory")
        }
        if format == FCS_PIXEL_F32 { guard stride % 4 == 0, UInt(bitPattern: data) % 4 == 0 else {
            throw .invalidArgument("\(name): F32 pixels and stride must be 4-byte aligned")
        } }
        rowStride = height > 1 ? Int(stride) : 0  // stride ≤ extent < 2^56 when there are two rows
        (self.name, base) = (name, UnsafeRawPointer(data))
        if let row = firstUnmappedRow(rowBytes: packed) {
            throw .invalidArgument("\(name): row \(row) of \(image.height) (stride \(callerStride) bytes) is not in this process's memory")
        }
    }

    /// The first row whose first or last byte lies on a page the process has not mapped (a
    /// descriptor larger than its buffer), found with mincore(2) without touching the memory.
    private func firstUnmappedRow(rowBytes: Int) -> Int? {
        let page = UInt(sysconf(Int32(_SC_PAGESIZE))), start = UInt(bitPattern: base)
        var residency: UInt8 = 0, checked = UInt.max
        for y in 0..<height {
            for address in [start + UInt(y * rowStride), start + UInt(y * rowStride + rowBytes - 1)] {
                let pageStart = address & ~(page - 1)
                guard pageStart != checked else { continue }
                guard mincore(UnsafeMutableRawPointer(bitPattern: pageStart), Int(page), &residency) == 0 || errno != ENOMEM else { return y }
                checked = pageStart
            }
        }
        return nil
    }

    /// Sample `index` of row `y` (interleaved), in 0…1 for U8.
    private func sample(_ y: Int, _ index: Int) -> Float {
        let row = base + y * rowStride
        return format == FCS_PIXEL_U8 ? Float(row.load(fromByteOffset: index, as: UInt8.self)) / 255
            : row.load(fromByteOffset: index * 4, as: Float.self)
    }

    /// The colour as `[1, 3, H, W]` in [-1, 1] (grey replicated), and the alpha plane
    /// (`[1, 1, H, W]`, 0…1) of a 4-channel image.
    func pixels() throws(FCSError) -> (rgb: Tensor, alpha: Tensor?) {
        let plane = width * height
        let rgb = Tensor(zeros: [1, 3, height, width]), alpha = channels == 4 ? Tensor(zeros: [1, 1, height, width]) : nil
        for y in 0..<height {
            for x in 0..<width {
                let i = y * width + x, first = x * channels
                for c in 0..<3 {
                    let value = sample(y, first + (channels == 1 ? 0 : c))
                    guard value.isFinite else { throw .invalidArgument("\(name) has NaN or infinite pixels (at \(x), \(y))") }
                    rgb.data[c * plane + i] = min(1, max(0, value)) * 2 - 1
                }
                if let alpha {
                    let value = sample(y, first + 3)
                    guard value.isFinite else { throw .invalidArgument("\(name) has NaN or infinite alpha (at \(x), \(y))") }
                    alpha.data[i] = value
                }
            }
        }
        return (rgb, alpha)
    }

    /// The first channel's samples, row-major, in 0…1 for U8 (F32 as given, checked finite).
    func firstChannel() throws(FCSError) -> [Float] {
        var values = [Float](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                let value = sample(y, x * channels)
                guard value.isFinite else { throw .invalidArgument("\(name) has NaN or infinite pixels (at \(x), \(y))") }
                values[y * width + x] = value
            }
        }
        return values
    }

    /// The first channel as a fill mask `[1, 1, H, W]` (1 = fill): at or above half the range.
    func fillMask() throws(FCSError) -> Tensor {
        let mask = Tensor(zeros: [1, 1, height, width])
        for y in 0..<height {
            for x in 0..<width {
                let value = sample(y, x * channels)
                guard value.isFinite else { throw .invalidArgument("\(name) has NaN or infinite pixels (at \(x), \(y))") }
                mask.data[y * width + x] = value >= 0.5 ? 1 : 0
            }
        }
        return mask
    }
}

/// Writes `[1, 3, H, W]` RGB in [-1, 1] (plus an optional `[1, 1, H, W]` alpha in 0…1) into a
/// new fcs-owned image with `channels` channels of `format`.
func makeImage(rgb: Tensor, alpha: Tensor?, channels: Int, format: fcs_pixel_format) throws(FCSError) -> fcs_image {
    let (height, width) = (rgb.shape[2], rgb.shape[3]), plane = height * width
    let values = rgb.toArray(), alphaValues = alpha?.toArray()
    var samples = [Float](repeating: 0, count: plane * channels)
    for i in 0..<plane {
        let (r, g, b) = ((values[i] + 1) / 2, (values[plane + i] + 1) / 2, (values[2 * plane + i] + 1) / 2)
        if channels == 1 {
            samples[i] = 0.299 * r + 0.587 * g + 0.114 * b
        } else {
            (samples[i * channels], samples[i * channels + 1], samples[i * channels + 2]) = (r, g, b)
            if channels == 4 { samples[i * channels + 3] = alphaValues?[i] ?? 1 }
        }
    }
    return try makeImage(samples: samples, width: width, height: height, channels: channels, format: format)
}

/// A new fcs-owned image from interleaved samples in 0…1 (clamped).
func makeImage(samples: [Float], width: Int, height: Int, channels: Int, format: fcs_pixel_format) throws(FCSError) -> fcs_image {
    let sampleBytes = format == FCS_PIXEL_U8 ? 1 : 4
    guard let data = malloc(max(1, samples.count * sampleBytes)) else {
        throw FCSError(.outOfMemory, "no memory for a \(width)×\(height)×\(channels) result")
    }
    if format == FCS_PIXEL_U8 {
        let bytes = data.assumingMemoryBound(to: UInt8.self)
        for i in samples.indices { bytes[i] = UInt8((min(1, max(0, samples[i])) * 255).rounded()) }
    } else {
        let floats = data.assumingMemoryBound(to: Float.self)
        for i in samples.indices { floats[i] = min(1, max(0, samples[i])) }
    }
    return fcs_image(width: Int32(width), height: Int32(height), channels: Int32(channels), format: format,
                     stride: width * channels * sampleBytes, data: data)
}

/// The output argument, checked before any work is done.
func outputSlot(_ out: UnsafeMutablePointer<fcs_image>?, name: String) throws(FCSError) -> UnsafeMutablePointer<fcs_image> {
    guard let out else { throw .invalidArgument("\(name) is NULL") }
    return out
}

@c(fcs_image_free)
public func fcsImageFree(_ image: UnsafeMutablePointer<fcs_image>?) {
    guard let image else { return }
    free(image.pointee.data)
    image.pointee = fcs_image()
}
