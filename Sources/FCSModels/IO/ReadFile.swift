import CZlib
import FCSTensor

/// The bytes of a whole file, decompressed if it is gzip-compressed (zlib's `gzread` passes
/// other files through unchanged), so callers accept `vocab.json` and `bpe….txt.gz` alike.
func readFile(_ path: String) throws(FCSError) -> [UInt8] {
    guard let file = gzopen(path, "rb") else { throw .io("\(path): cannot open") }
    defer { gzclose(file) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
        if count < 0 { throw .format("\(path): damaged gzip data") }
        if count == 0 { return result }
        result.append(contentsOf: chunk[0..<Int(count)])
    }
}
