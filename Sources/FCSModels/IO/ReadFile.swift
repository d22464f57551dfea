import CZlib
import FCSTensor
#if canImport(Glibc)
import Glibc
#endif

/// The bytes of a whole file, gunzipped if they are gzip data, so callers accept `vocab.json`
/// and `bpe….txt.gz` alike. Only for small files (configs, vocabularies): more than `limit`
/// bytes, before or after gunzipping, is an error rather than an allocation of any size.
func readFile(_ path: String, limit: Int = ConfigLimits.maxFileBytes) throws(FCSError) -> [UInt8] {
    guard let file = fopen(path, "rb") else { throw .io("\(path): cannot open (\(String(cString: strerror(errno))))") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        if count == 0 { break }
        guard bytes.count + count <= limit else { throw tooLarge(path, limit: limit) }
        bytes.append(contentsOf: chunk[0..<count])
    }
    if ferror(file) != 0 { throw .io("\(path): read error") }
    let result: Result<[UInt8], FCSError> = bytes.withUnsafeBytes { raw in
        Result { () throws(FCSError) in try gunzipIfCompressed(raw, source: path, limit: limit) }
    }
    return try result.get()
}

private func tooLarge(_ path: String, limit: Int) -> FCSError {
    .format("\(path): more than \(limit) bytes, fcs's limit for a config or vocabulary file (ConfigLimits.maxFileBytes)")
}

/// `data` inflated when it starts with the gzip magic bytes, else unchanged.
/// - Throws: `.format` for damaged gzip data or more than `limit` bytes inflated.
func gunzipIfCompressed(_ data: UnsafeRawBufferPointer, source: String, limit: Int = ConfigLimits.maxFileBytes) throws(FCSError) -> [UInt8] {
    guard data.count >= 2, data[0] == 0x1F, data[1] == 0x8B else { return Array(data) }
    guard data.count <= limit, limit <= Int(UInt32.max) else { throw tooLarge(source, limit: limit) }  // avail_in is 32 bits
    var stream = z_stream()
    // 16 + MAX_WBITS: expect a gzip header
    guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw .internal("\(source): zlib could not start")
    }
    defer { inflateEnd(&stream) }
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 18)
    stream.next_in = UnsafeMutablePointer(mutating: data.bindMemory(to: UInt8.self).baseAddress)
    stream.avail_in = UInt32(data.count)
    var status = Z_OK
    repeat {
        status = chunk.withUnsafeMutableBufferPointer { buffer in
            stream.next_out = buffer.baseAddress
            stream.avail_out = UInt32(buffer.count)
            return inflate(&stream, Z_NO_FLUSH)
        }
        guard status == Z_OK || status == Z_STREAM_END else { throw .format("\(source): damaged gzip data") }
        let produced = chunk.count - Int(stream.avail_out)
        guard output.count + produced <= limit else { throw tooLarge(source, limit: limit) }
        output.append(contentsOf: chunk[0..<produced])
        if status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0 { throw .format("\(source): truncated gzip data") }
    } while status != Z_STREAM_END
    return output
}
