import CFCS
import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif

/// An fcs_image descriptor decoded from the input, pointing at memory the harness owns.
///
/// A descriptor that a caller could really have (any stride and extent that fits in the address
/// space) gets a buffer of exactly the bytes it claims — (height − 1)·stride + one packed row —
/// so ASan reports any read past them. One that no caller could have (not an image by the
/// header's rules, or an extent beyond the address space) gets a 16-byte buffer: the library must
/// refuse it by its numbers, before it reads anything.
struct FuzzImage {
    var descriptor: fcs_image
    /// false when the descriptor is possible but too large to back (skip the call).
    let isBacked: Bool

    /// Bytes beyond this are not backed (an image of few pixels can still have a long stride).
    static let maxBackedBytes = 1 << 20
    /// No user-space buffer reaches past 2^56 (x86-64 with 5-level page tables; 4-level ones and
    /// AArch64 stop at 2^47 or 2^52).
    static let addressSpace = 1 << 56

    /// - Parameters:
    ///   - maxSide: the largest side the decoder gives, but for the edge values it also tries.
    ///   - maxPixels: images with more pixels are not backed, so that requests that pass
    ///     validation stay fast.
    ///   - size: width and height to use instead of decoding them (a mask matching its image).
    init(_ input: inout FuzzInput, maxSide: Int32, maxPixels: Int, size: (Int32, Int32)? = nil, in allocations: Allocations) {
        let kind = input.byte()
        let width = size?.0 ?? input.int32(small: 1 ... maxSide), height = size?.1 ?? input.int32(small: 1 ... maxSide)
        let channels = input.int32(small: 1 ... 4), format = input.int32(small: 0 ... 1)
        let isByte = format == FCS_PIXEL_U8.rawValue
        let sampleBytes = isByte ? 1 : 4
        let hasChannels = [1, 3, 4].contains(channels)
        let packed = hasChannels ? Int(max(width, 0)) * Int(channels) * sampleBytes : 0  // ≤ 2^35
        let strideSelector = input.byte()
        let stride = switch strideSelector {
        case 0 ..< 128: 0
        case 128 ..< 192: packed + Int(strideSelector % 16)
        case 192 ..< 208: max(0, packed - 1 - Int(strideSelector % 4))
        default: input.int(small: 0 ... 64)
        }
        let misalignment = input.byte() >= 240 ? Int(input.byte() % 3) + 1 : 0
        descriptor = fcs_image(width: width, height: height, channels: channels,
                               format: fcs_pixel_format(rawValue: UInt32(bitPattern: format)), stride: stride, data: nil)

        // The stride is a size_t: unsigned arithmetic, as the library's (a "negative" Int here is
        // a stride past 2^63, which a one-row image may have, since no row follows).
        let rowStride = stride == 0 ? UInt(packed) : UInt(bitPattern: stride)
        let isImage = width > 0 && height > 0 && hasChannels && (isByte || format == FCS_PIXEL_F32.rawValue)
            && rowStride >= UInt(packed) && (isByte || (rowStride % 4 == 0 && misalignment == 0))
        let (rows, rowsOverflow) = UInt(max(height, 1) - 1).multipliedReportingOverflow(by: rowStride)
        let (extentBytes, extentOverflow) = rows.addingReportingOverflow(UInt(packed))
        let isPossible = isImage && !rowsOverflow && !extentOverflow && extentBytes <= UInt(Self.addressSpace)
        let extent = Int(min(extentBytes, UInt(Self.addressSpace)))
        if kind == 255 {  // NULL pixels, whatever the numbers say
            isBacked = true
            return
        }
        guard isPossible else {
            descriptor.data = allocations.buffer(16 + misalignment) + misalignment
            isBacked = true
            return
        }
        guard Int(width) * Int(height) <= maxPixels, extent <= Self.maxBackedBytes else {
            isBacked = false
            return
        }
        // from one row to the next, in bytes: within the backed extent when there is a next row
        let rowStep = height > 1 ? Int(rowStride) : 0
        let buffer = allocations.buffer(extent + misalignment) + misalignment
        // Pixels from a one-byte seed rather than from the input, which they would use up; a
        // NaN in F32 pixels only when the seed asks for one (random floats would nearly always
        // hold one, and be refused at once).
        let seed = input.byte()
        var state = UInt32(seed) &* 2_654_435_761 | 1
        for i in 0..<extent {
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            buffer.storeBytes(of: UInt8(truncatingIfNeeded: state), toByteOffset: i, as: UInt8.self)
        }
        if !isByte {
            let samples = packed / 4
            for row in 0..<Int(height) {
                for i in 0..<samples {
                    let byte = buffer.load(fromByteOffset: row * rowStep + 4 * i, as: UInt8.self)
                    buffer.storeBytes(of: Float(byte) / 255, toByteOffset: row * rowStep + 4 * i, as: Float.self)
                }
            }
            if seed >= 224 {
                let index = Int(seed) % (Int(height) * samples)
                let nonFinite: Float = seed & 1 == 0 ? .nan : .infinity
                buffer.storeBytes(of: nonFinite, toByteOffset: index / samples * rowStep + 4 * (index % samples), as: Float.self)
            }
        }
        descriptor.data = buffer
        isBacked = true
    }
}

/// Memory handed to the library for one call, freed after it.
final class Allocations {
    private var buffers: [UnsafeMutableRawPointer] = []

    func buffer(_ count: Int) -> UnsafeMutableRawPointer {
        guard let buffer = malloc(max(count, 1)) else { fatalError("harness: no memory for \(count) bytes") }
        buffers.append(buffer)
        return buffer
    }

    /// A NUL-terminated copy of `bytes`, which may hold any bytes (invalid UTF-8 too).
    func cString(_ bytes: some Collection<UInt8>) -> UnsafePointer<CChar> {
        let buffer = self.buffer(bytes.count + 1).assumingMemoryBound(to: UInt8.self)
        for (i, byte) in bytes.enumerated() { buffer[i] = byte == 0 ? 1 : byte }
        buffer[bytes.count] = 0
        return UnsafeRawPointer(buffer).assumingMemoryBound(to: CChar.self)
    }

    func floats(_ values: [Float]) -> UnsafePointer<Float> {
        let buffer = self.buffer(values.count * 4).assumingMemoryBound(to: Float.self)
        for (i, value) in values.enumerated() { buffer[i] = value }
        return UnsafePointer(buffer)
    }

    func pointer<T>(to value: T) -> UnsafeMutablePointer<T> {
        let buffer = self.buffer(MemoryLayout<T>.stride).bindMemory(to: T.self, capacity: 1)
        buffer.initialize(to: value)
        return buffer
    }

    deinit { for buffer in buffers { free(buffer) } }
}
