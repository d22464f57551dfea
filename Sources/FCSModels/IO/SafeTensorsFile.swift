import FCSTensor
import FoundationEssentials
import Glibc

/// Element types of the safetensors format, named exactly as in the header's `"dtype"` field.
/// fcs converts only `F32`, `F16` and `BF16`; the others are recognised so that a file holding
/// them can still be opened and its float tensors read.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case F64, F32, F16, BF16
    case I64, I32, I16, I8, U64, U32, U16, U8, BOOL
    case F8_E4M3, F8_E4M3FNUZ, F8_E5M2, F8_E5M2FNUZ, F8_E8M0
    case C64

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .F64, .I64, .U64, .C64: 8
        case .F32, .I32, .U32: 4
        case .F16, .BF16, .I16, .U16: 2
        case .I8, .U8, .BOOL, .F8_E4M3, .F8_E4M3FNUZ, .F8_E5M2, .F8_E5M2FNUZ, .F8_E8M0: 1
        }
    }
}

/// Where one tensor lies in a ``SafeTensorsFile`` and how to read it.
public struct TensorInfo: Sendable, Equatable {
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// The header's `data_offsets`: byte offsets into the data buffer that follows the header.
    public let byteRange: Range<Int>
}

/// A memory-mapped safetensors file (https://github.com/huggingface/safetensors): an 8-byte
/// little-endian header length N, N bytes of JSON header
/// `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string: string}}`,
/// then the data buffer the offsets point into.
///
/// Opening validates the whole header as the reference implementation does — the tensors must
/// tile the data buffer exactly, with matching sizes — so a hostile file is an `FCSError`, never
/// a crash or a read outside the file.
///
/// The mapping lives as long as this object or any tensor viewing it. It is private and
/// copy-on-write: writing into a zero-copy tensor changes this process's copy, never the file.
/// As with any mapping, truncating the file while it is open makes reads fault. The pages of a
/// tensor read as a converted copy are handed back once read (see ``tensor(_:)``).
public final class SafeTensorsFile: @unchecked Sendable {  // immutable after init
    public let path: String
    /// The tensor names, sorted.
    public let names: [String]
    /// The header's `__metadata__` (empty if it has none).
    public let metadata: [String: String]

    private let tensors: [String: TensorInfo]
    private let mapping: UnsafeMutableRawPointer
    private let mappingSize: Int
    /// Whether the mapping is of a file (its pages can be dropped and read again) rather than
    /// anonymous memory holding the only copy.
    private let fileBacked: Bool
    /// Where the data buffer starts in the file: 8 + header length.
    private let dataStart: Int

    /// Maps and validates the file at `path`.
    /// - Throws: `.io` if it cannot be opened or mapped, `.format` if it is not a valid
    ///   safetensors file.
    public init(path: String) throws(FCSError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("\(path): cannot open (\(Self.systemError()))") }
        defer { close(fd) }  // the mapping outlives the descriptor
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .io("\(path): cannot stat (\(Self.systemError()))") }
        guard status.st_mode & S_IFMT == S_IFREG else { throw .io("\(path): not a regular file") }
        let size = Int(status.st_size)
        guard size >= 8 else {
            throw .format("\(path): file is too short (\(size) bytes) to hold a safetensors header length")
        }
        // Writable but private: zero-copy tensors have mutable pointers, and a stray write must
        // not reach the file. NORESERVE keeps a multi-GB checkpoint out of the commit limit.
        let base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0)
        guard let base, base != MAP_FAILED else {
            throw .io("\(path): cannot map \(size) bytes (\(Self.systemError()))")
        }
        let header: Header
        do {
            header = try Header(file: UnsafeRawBufferPointer(start: base, count: size), path: path)
        } catch {
            munmap(base, size)
            throw error
        }
        mapping = base
        mappingSize = size
        fileBacked = true
        dataStart = header.dataStart
        tensors = header.tensors
        metadata = header.metadata
        names = header.tensors.keys.sorted()
    }

    /// A copy of safetensors bytes held in memory (data compiled into fcs), validated like a file.
    /// - Parameter name: what messages call it.
    public init(bytes: UnsafeRawBufferPointer, name: String) throws(FCSError) {
        path = name
        guard bytes.count >= 8, let source = bytes.baseAddress else {
            throw .format("\(name): too short (\(bytes.count) bytes) to hold a safetensors header length")
        }
        let base = mmap(nil, bytes.count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let base, base != MAP_FAILED else { throw .outOfMemory("\(name): cannot allocate \(bytes.count) bytes") }
        base.copyMemory(from: source, byteCount: bytes.count)
        let header: Header
        do {
            header = try Header(file: UnsafeRawBufferPointer(start: base, count: bytes.count), path: name)
        } catch {
            munmap(base, bytes.count)
            throw error
        }
        (mapping, mappingSize, fileBacked, dataStart) = (base, bytes.count, false, header.dataStart)
        (tensors, metadata, names) = (header.tensors, header.metadata, header.tensors.keys.sorted())
    }

    deinit { munmap(mapping, mappingSize) }

    public func contains(_ name: String) -> Bool { tensors[name] != nil }

    public func info(_ name: String) -> TensorInfo? { tensors[name] }

    /// The tensor's bytes as stored (little-endian, row-major), e.g. to keep float16 weights in
    /// memory. Valid while this file object is alive.
    /// - Precondition: `contains(name)`.
    public func rawBytes(_ name: String) -> UnsafeRawBufferPointer {
        guard let info = tensors[name] else { preconditionFailure("\(path): no tensor named \"\(name)\"") }
        return UnsafeRawBufferPointer(bytes(info))
    }

    /// The tensor as float32. F32 data is a zero-copy view of the mapping (the usual case, as
    /// writers align it); F16 and BF16 data, and unaligned F32, are converted into a new tensor,
    /// and then the file's pages that hold only this tensor are dropped from memory: loading a
    /// 16-bit checkpoint would otherwise keep the whole file resident (counted in the process's
    /// RSS until the file is closed) beside the weights made from it. A later read maps them
    /// from the file again.
    /// - Throws: `.invalidArgument` if there is no tensor `name`; `.format` if its dtype is not
    ///   one of F32, F16, BF16.
    public func tensor(_ name: String) throws(FCSError) -> Tensor {
        let info = try requireInfo(name)
        let bytes = bytes(info)
        let count = bytes.count / info.dtype.size
        let source = UnsafeRawPointer(bytes.baseAddress!)
        switch info.dtype {
        case .F32 where Int(bitPattern: source) % MemoryLayout<Float>.alignment == 0:
            return Tensor(borrowing: bytes.baseAddress!.bindMemory(to: Float.self, capacity: count),
                          shape: info.shape, owner: self)
        case .F32:
            let result = Tensor(zeros: info.shape)
            UnsafeMutableRawPointer(result.data).copyMemory(from: source, byteCount: bytes.count)
            releasePages(bytes)
            return result
        case .F16, .BF16:
            let result = Tensor(zeros: info.shape)
            guard count > 0 else { return result }  // (an empty array may have no base address)
            let convert = info.dtype == .F16 ? FloatConversion.float16ToFloat : FloatConversion.bfloat16ToFloat
            if Int(bitPattern: source) % MemoryLayout<UInt16>.alignment == 0 {
                convert(source.bindMemory(to: UInt16.self, capacity: count), result.data, count)
            } else {
                let aligned = [UInt16](unsafeUninitializedCapacity: count) { buffer, initialized in
                    UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: source, byteCount: bytes.count)
                    initialized = count
                }
                aligned.withUnsafeBufferPointer { convert($0.baseAddress!, result.data, count) }
            }
            releasePages(bytes)
            return result
        default:
            throw .format("\(path): tensor \"\(name)\" has dtype \(info.dtype.rawValue); fcs reads only F32, F16 and BF16")
        }
    }

    private func requireInfo(_ name: String) throws(FCSError) -> TensorInfo {
        guard let info = tensors[name] else {
            let some = names.prefix(5).map { "\"\($0)\"" }.joined(separator: ", ")
            throw .invalidArgument("\(path): no tensor named \"\(name)\"; it has \(names.count) tensors"
                                   + (names.isEmpty ? "" : ", such as \(some)"))
        }
        return info
    }

    /// Drops the pages lying wholly inside `bytes` (a tensor that was copied out, so no view of
    /// it exists; neighbours' pages at its ends are kept). Private file pages no one wrote are
    /// read from the file again on the next access, so nothing changes but the memory held.
    private func releasePages(_ bytes: UnsafeMutableRawBufferPointer) {
        guard fileBacked, let base = bytes.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return }
        let start = (Int(bitPattern: base) + page - 1) / page * page, end = (Int(bitPattern: base) + bytes.count) / page * page
        if end > start { madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_DONTNEED) }
    }

    private func bytes(_ info: TensorInfo) -> UnsafeMutableRawBufferPointer {
        // An empty tensor points at the end of its range: never a nil base address.
        UnsafeMutableRawBufferPointer(start: mapping + dataStart + info.byteRange.lowerBound, count: info.byteRange.count)
    }

    private static func systemError() -> String { String(cString: strerror(errno)) }
}

/// The parsed and validated header of a mapped file.
private struct Header {
    var metadata: [String: String]
    var tensors: [String: TensorInfo] = [:]
    var dataStart: Int

    /// The reference implementation's limit; it keeps a corrupt length from costing 2^64 bytes.
    static let maxHeaderLength: UInt64 = 100_000_000

    init(file: UnsafeRawBufferPointer, path: String) throws(FCSError) {
        func bad(_ problem: String) -> FCSError { .format("\(path): \(problem)") }

        let length = UInt64(littleEndian: file.loadUnaligned(as: UInt64.self))
        guard length <= Self.maxHeaderLength else {
            throw bad("header length \(length) is too large (the limit is 100 MB)")
        }
        guard Int(length) <= file.count - 8 else {
            throw bad("header length \(length) exceeds the \(file.count - 8) bytes that follow it")
        }
        dataStart = 8 + Int(length)
        let json = UnsafeRawBufferPointer(rebasing: file[8 ..< dataStart])
        guard String(validating: json, as: UTF8.self) != nil else { throw bad("header is not valid UTF-8") }
        guard json.first(where: { !" \t\r\n".utf8.contains($0) }) == UInt8(ascii: "{") else {
            throw bad("header is not a JSON object")
        }
        let decoded: HeaderJSON
        do {
            decoded = try JSONDecoder().decode(HeaderJSON.self, from: Data(json))
        } catch let error as DecodingError {
            throw bad(Self.describe(error))
        } catch {
            throw bad("header is not valid JSON")
        }
        var seen = Set<String>()
        for key in try Self.topLevelKeys(json, bad: bad) where !seen.insert(key).inserted {
            throw bad("header has a duplicate entry \"\(key)\"")
        }
        metadata = decoded.metadata

        let dataLength = file.count - dataStart
        for (name, entry) in decoded.entries {
            tensors[name] = try Self.validate(entry, name: name, dataLength: dataLength, bad: bad)
        }
        // As the reference implementation: sorted by offset, the tensors must tile the data
        // buffer with no overlap, no gap and nothing after the last one.
        var end = 0
        var previous: String?
        for (name, info) in tensors.sorted(by: { ($0.value.byteRange.lowerBound, $0.value.byteRange.upperBound, $0.key)
                                                   < ($1.value.byteRange.lowerBound, $1.value.byteRange.upperBound, $1.key) }) {
            let begin = info.byteRange.lowerBound
            if begin < end { throw bad("tensor \"\(name)\" at byte \(begin) overlaps tensor \"\(previous ?? "")\" (ends at \(end))") }
            if begin > end { throw bad("gap of \(begin - end) bytes in the data buffer before tensor \"\(name)\"") }
            end = info.byteRange.upperBound
            previous = name
        }
        guard end == dataLength else {
            throw bad("\(dataLength - end) trailing bytes in the data buffer are not covered by any tensor")
        }
    }

    private static func validate(_ entry: HeaderJSON.Entry, name: String, dataLength: Int,
                                 bad: (String) -> FCSError) throws(FCSError) -> TensorInfo {
        let what = "tensor \"\(name)\""
        guard let dtype = SafeTensorsDType(rawValue: entry.dtype) else {
            throw bad("\(what) has unknown dtype \"\(entry.dtype)\"")
        }
        let shape = entry.shape.map(\.value)
        guard shape.allSatisfy({ $0 >= 0 }) else { throw bad("\(what) has a negative dimension in shape \(shape)") }
        let offsets = entry.data_offsets.map(\.value)
        guard offsets.count == 2 else { throw bad("\(what): data_offsets must be [begin, end], not \(offsets)") }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0 else { throw bad("\(what): data_offsets begin \(begin) is negative") }
        guard begin <= end else { throw bad("\(what): data_offsets begin \(begin) is after end \(end)") }
        guard end <= dataLength else {
            throw bad("\(what): data_offsets [\(begin), \(end)] reach past the end of the \(dataLength)-byte data buffer")
        }
        // Zero dimensions are skipped here because a tensor's strides multiply the others: an empty
        // [0, 2^62, 2^62] would still overflow them.
        var byteCount = dtype.size
        for dimension in shape {
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: max(dimension, 1))
            guard !overflow else { throw bad("\(what): shape \(shape) overflows the element count") }
            byteCount = product
        }
        if shape.contains(0) { byteCount = 0 }
        // fcs's kernels index one tensor with 32-bit offsets (GEMM leading dimensions, conv tables);
        // no Stable Diffusion tensor comes near (the largest, the token embedding, has 38 M values)
        guard byteCount / dtype.size < 1 << 31 else {
            throw bad("\(what): shape \(shape) has \(byteCount / dtype.size) elements, more than fcs's limit of 2^31 per tensor")
        }
        guard byteCount == end - begin else {
            throw bad("\(what): shape \(shape) of \(dtype.rawValue) needs \(byteCount) bytes but data_offsets hold \(end - begin)")
        }
        return TensorInfo(dtype: dtype, shape: shape, byteRange: begin ..< end)
    }

    /// The top-level keys of the (already decoded, so well-formed) JSON object, in order and with
    /// repeats: JSONDecoder silently keeps one of a repeated key, but a repeated tensor name must
    /// be rejected. Scans strings and nesting depth only.
    private static func topLevelKeys(_ json: UnsafeRawBufferPointer, bad: (String) -> FCSError) throws(FCSError) -> [String] {
        var keys: [String] = []
        var depth = 0
        var expectingKey = false
        var i = 0
        while i < json.count {
            switch json[i] {
            case UInt8(ascii: "\""):
                let start = i
                var escaped = false
                i += 1
                while i < json.count, json[i] != UInt8(ascii: "\"") {
                    escaped = escaped || json[i] == UInt8(ascii: "\\")
                    i += json[i] == UInt8(ascii: "\\") ? 2 : 1
                }
                guard i < json.count else { throw bad("header is not valid JSON") }
                if depth == 1, expectingKey {
                    let literal = UnsafeRawBufferPointer(rebasing: json[start ... i])
                    guard let key = escaped ? try? JSONDecoder().decode(String.self, from: Data(literal))
                                            : String(decoding: literal.dropFirst().dropLast(), as: UTF8.self)
                    else { throw bad("header is not valid JSON") }
                    keys.append(key)
                    expectingKey = false
                }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectingKey = depth == 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ","):
                expectingKey = depth == 1
            default:
                break
            }
            i += 1
        }
        return keys
    }

    /// A one-line account of a decoding error, naming the header entry and field.
    private static func describe(_ error: DecodingError) -> String {
        guard let (context, problem) = error.contextAndProblem, let entry = context.codingPath.first else {
            return "header is not valid JSON"
        }
        let field = DecodingError.fieldPath(context.codingPath.dropFirst())
        return "header entry \"\(entry.stringValue)\"" + (field.isEmpty ? "" : " field \(field)") + ": \(problem)"
    }
}

/// The header JSON as decoded: tensor entries by name, and `__metadata__`.
private struct HeaderJSON: Decodable {
    struct Entry: Decodable {
        let dtype: String
        let shape: [Integer]
        let data_offsets: [Integer]
    }

    /// A JSON integer. Decoding `Int` directly reports `2.5` as "not valid JSON" with no
    /// location; this names the field instead.
    struct Integer: Decodable {
        let value: Int
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            guard let value = try? container.decode(Int.self) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an integer")
            }
            self.value = value
        }
    }

    typealias Key = NamedCodingKey

    var metadata: [String: String] = [:]
    var entries: [String: Entry] = [:]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if key.stringValue == "__metadata__" {
                metadata = try container.decode([String: String].self, forKey: key)
            } else {
                entries[key.stringValue] = try container.decode(Entry.self, forKey: key)
            }
        }
    }
}
