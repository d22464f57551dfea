/// Reads the fuzz input front to back as the fields a harness decodes. Past the end every read
/// returns zero, so that any input, even an empty one, decodes to something.
public struct FuzzInput {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        bytes = UnsafeRawBufferPointer(start: data, count: size)
    }

    public var isAtEnd: Bool { position >= bytes.count }

    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func int32() -> Int32 { Int32(bitPattern: word(4)) }

    public mutating func uint64() -> UInt64 {
        UInt64(word(4)) | UInt64(word(4)) << 32
    }

    public mutating func bool() -> Bool { byte() & 1 == 1 }

    /// A little-endian word of `count` ≤ 4 bytes.
    private mutating func word(_ count: Int) -> UInt32 {
        (0..<count).reduce(UInt32(0)) { value, i in value | UInt32(byte()) << (8 * i) }
    }

    /// Up to `count` of the next bytes (fewer at the end).
    public mutating func bytes(_ count: Int) -> UnsafeRawBufferPointer {
        let end = min(bytes.count, position + max(0, count))
        defer { position = max(position, end) }
        return UnsafeRawBufferPointer(rebasing: bytes[min(position, end) ..< end])
    }

    /// Everything not read yet.
    public mutating func rest() -> UnsafeRawBufferPointer { bytes(bytes.count - position) }

    /// Mostly a small value in `small`, sometimes one of the numbers that break size
    /// arithmetic, sometimes any 32-bit value: validation is fuzzed at its edges while most
    /// inputs stay cheap to run.
    public mutating func int32(small: ClosedRange<Int32>) -> Int32 {
        let selector = byte()
        switch selector {
        case 0 ..< 208:
            return small.lowerBound + Int32(selector) % (small.upperBound - small.lowerBound + 1)
        case 208 ..< 240:
            return Self.edgeInt32s[Int(selector - 208) % Self.edgeInt32s.count]
        default:
            return int32()
        }
    }

    /// As ``int32(small:)``, for `size_t`-like values.
    public mutating func int(small: ClosedRange<Int>) -> Int {
        let selector = byte()
        switch selector {
        case 0 ..< 208:
            return small.lowerBound + Int(selector) % (small.upperBound - small.lowerBound + 1)
        case 208 ..< 240:
            return Self.edgeInts[Int(selector - 208) % Self.edgeInts.count]
        default:
            return Int(bitPattern: UInt(uint64()))
        }
    }

    /// A float: mostly `typical`, sometimes a value that breaks arithmetic, sometimes any bits.
    public mutating func float(typical: Float) -> Float {
        let selector = byte()
        switch selector {
        case 0 ..< 160:
            return typical
        case 160 ..< 240:
            return Self.edgeFloats[Int(selector - 160) % Self.edgeFloats.count]
        default:
            return Float(bitPattern: word(4))
        }
    }

    static let edgeInt32s: [Int32] = [0, -1, 1, 2, 3, 7, 8, 63, 64, 65, 255, 256, 1000, 1001, 4096, 8192, 8193,
                                      16384, 1 << 16, 1 << 20, 1 << 24, 1 << 28, 1 << 30, Int32.max, Int32.max - 1,
                                      Int32.min, Int32.min + 1, -2, -64, -1000, 46341, 23171]
    static let edgeInts: [Int] = [0, -1, 1, 2, 3, 4, 7, 64, 1 << 16, 1 << 31, 1 << 32, (1 << 32) - 1, 1 << 40,
                                  1 << 47, 1 << 48, 1 << 62, Int.max, Int.max - 1, Int.min, -4096,
                                  Int.max / 2, Int.max / 3, Int.max / 4 + 1, 3 << 61, 1 << 20, 1 << 24, 1 << 28,
                                  65537, 46341, 23171, 4099]
    static let edgeFloats: [Float] = [0, -0.0, -1, 1, 2, 0.5, 1e-30, 1e30, -1e30, .nan, -.nan, .infinity, -.infinity,
                                      .leastNonzeroMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude]
}
