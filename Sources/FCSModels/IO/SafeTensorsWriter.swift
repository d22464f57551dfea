import FCSTensor
import FoundationEssentials
import Glibc

/// Writes safetensors files that the reference implementation (and ``SafeTensorsFile``) reads.
public enum SafeTensorsWriter {
    /// Writes `tensors`, each stored as its `dtype` (F32, F16 or BF16; float32 values are rounded
    /// to nearest even), and `metadata` as `__metadata__`.
    ///
    /// As the reference writer: the header's keys are sorted and it is padded with spaces to a
    /// multiple of 8 bytes, and the data is ordered by element size, then name, so every tensor
    /// is aligned to its element size. The file is written next to `path` and renamed into
    /// place, so a failure never leaves a partial file at `path`.
    /// - Throws: `.invalidArgument` for an unsupported dtype or a repeated or reserved name;
    ///   `.io` if the file cannot be written.
    public static func write(_ tensors: [(name: String, tensor: Tensor, dtype: SafeTensorsDType)],
                             metadata: [String: String] = [:], to path: String) throws(FCSError) {
        var header: [String: HeaderValue] = metadata.isEmpty ? [:] : ["__metadata__": .metadata(metadata)]
        let ordered = tensors.sorted { ($1.dtype.size, $0.name) < ($0.dtype.size, $1.name) }
        var offset = 0
        for (name, tensor, dtype) in ordered {
            guard [.F32, .F16, .BF16].contains(dtype) else {
                throw .invalidArgument("\(path): cannot write tensor \"\(name)\" as \(dtype.rawValue); fcs writes F32, F16 and BF16")
            }
            guard header[name] == nil, name != "__metadata__" else {
                throw .invalidArgument("\(path): tensor name \"\(name)\" is repeated or reserved")
            }
            let byteCount = tensor.count * dtype.size
            header[name] = .tensor(dtype: dtype.rawValue, shape: tensor.shape, offsets: [offset, offset + byteCount])
            offset += byteCount
        }
        var json: [UInt8]
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            json = Array(try encoder.encode(header))
        } catch {
            throw .invalidArgument("\(path): cannot encode the header (\(error))")
        }
        json += repeatElement(UInt8(ascii: " "), count: (8 - json.count % 8) % 8)

        try writeAtomically(to: path) { (file: File) throws(FCSError) in
            try file.write(withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json)
            for (_, tensor, dtype) in ordered {
                try write(tensor, as: dtype, to: file)
            }
        }
    }

    /// Writes `tensors` as F32, with `metadata` as `__metadata__`; see the other overload.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:],
                             to path: String) throws(FCSError) {
        try write(tensors.map { (name: $0.key, tensor: $0.value, dtype: .F32) }, metadata: metadata, to: path)
    }

    private static func write(_ tensor: Tensor, as dtype: SafeTensorsDType, to file: File) throws(FCSError) {
        guard tensor.isContiguous else {
            return try write(Tensor(shape: tensor.shape, values: tensor.toArray()), as: dtype, to: file)
        }
        let count = tensor.count
        guard count > 0 else { return }  // nothing to write (and an empty array may have no base address)
        if dtype == .F32 {
            return try file.write(UnsafeRawBufferPointer(start: tensor.data, count: count * 4))
        }
        let convert = dtype == .F16 ? FloatConversion.floatToFloat16 : FloatConversion.floatToBFloat16
        let halves = [UInt16](unsafeUninitializedCapacity: count) { buffer, initialized in
            convert(tensor.data, buffer.baseAddress!, count)
            initialized = count
        }
        try file.write(halves)
    }

    /// Runs `body` on a new file next to `path`, then renames it to `path`; on any failure the
    /// new file is removed and `path` is untouched.
    private static func writeAtomically(to path: String, _ body: (File) throws(FCSError) -> Void) throws(FCSError) {
        let temporary = "\(path).\(getpid())-\(UInt32.random(in: .min ... .max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io("\(path): cannot create \(temporary) (\(systemError()))") }
        func abandon(_ problem: String) -> FCSError {
            let error = FCSError.io("\(path): \(problem) (\(systemError()))")
            unlink(temporary)
            return error
        }
        do throws(FCSError) {
            try body(File(fd: fd, path: path))
            // Flushed before the rename, so that after a crash `path` is the old or the new file.
            guard fsync(fd) == 0 else { throw abandon("cannot flush \(temporary)") }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard close(fd) == 0 else { throw abandon("cannot close \(temporary)") }
        guard rename(temporary, path) == 0 else { throw abandon("cannot rename \(temporary) into place") }
    }

    private struct File {
        let fd: Int32
        let path: String

        func write(_ bytes: UnsafeRawBufferPointer) throws(FCSError) {
            var done = 0
            while done < bytes.count {
                let written = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { throw .io("\(path): cannot write (\(systemError()))") }
                done += written
            }
        }

        func write<Element>(_ array: [Element]) throws(FCSError) {
            // withUnsafeBytes is untyped `rethrows`: carry the typed error out as a Result.
            try array.withUnsafeBytes { bytes in Result { () throws(FCSError) in try write(bytes) } }.get()
        }
    }

    private static func systemError() -> String { String(cString: strerror(errno)) }

    /// One value of the header object: `__metadata__` or a tensor's entry.
    private enum HeaderValue: Encodable {
        case metadata([String: String])
        case tensor(dtype: String, shape: [Int], offsets: [Int])

        private enum Field: String, CodingKey { case dtype, shape, data_offsets }

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .metadata(let metadata):
                var container = encoder.singleValueContainer()
                try container.encode(metadata)
            case .tensor(let dtype, let shape, let offsets):
                var container = encoder.container(keyedBy: Field.self)
                try container.encode(dtype, forKey: .dtype)
                try container.encode(shape, forKey: .shape)
                try container.encode(offsets, forKey: .data_offsets)
            }
        }
    }
}
