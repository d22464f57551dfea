import FCSModels
import FCSTensor
import Foundation
import XCTest

final class SafeTensorsTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fcs-safetensors-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: directory)
    }

    // MARK: Round trips

    func testRoundTripF32KeepsEveryBitAndShape() throws {
        let values: [Float] = [0, -0.0, 1.5, -2.25, .greatestFiniteMagnitude, .leastNonzeroMagnitude,
                               .infinity, -.infinity, .nan, 0.1, .leastNormalMagnitude / 3, -3]
        let matrix = Tensor(shape: [3, 4], values: values)
        let column = matrix.slice(dim: 1, start: 1, length: 2)  // not contiguous
        let path = temporaryPath("f32.safetensors")
        try SafeTensorsWriter.write(["matrix": matrix, "column": column, "scalar": Tensor(shape: [], values: [7]),
                                     "empty": Tensor(zeros: [0, 3])], to: path)

        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(file.names, ["column", "empty", "matrix", "scalar"])
        assertBitwiseEqual(try file.tensor("matrix"), shape: [3, 4], values)
        assertBitwiseEqual(try file.tensor("column"), shape: [3, 2], column.toArray())
        assertBitwiseEqual(try file.tensor("scalar"), shape: [], [7])
        assertBitwiseEqual(try file.tensor("empty"), shape: [0, 3], [])
        XCTAssertEqual(file.info("matrix")?.dtype, .F32)
    }

    func testRoundTripF16RoundsToNearestEven() throws {
        // Exact values, the float16 extremes, an inexact value and overflow to infinity.
        let values: [Float] = [1, -2, 0.5, 65504, 6.103515625e-05, 5.9604645e-08, 0.1, 1e-9, 65520, 1e6,
                               -.infinity, .nan, -0.0, 3.14159]
        let path = temporaryPath("f16.safetensors")
        try SafeTensorsWriter.write([(name: "h", tensor: Tensor(shape: [2, 7], values: values), dtype: .F16)], to: path)

        let file = try SafeTensorsFile(path: path)
        let info = try XCTUnwrap(file.info("h"))
        XCTAssertEqual([info.dtype], [.F16])
        XCTAssertEqual(info.shape, [2, 7])
        XCTAssertEqual(info.byteRange, 0 ..< 28)
        assertBitwiseEqual(try file.tensor("h"), shape: [2, 7], values.map { Float(Float16($0)) })
        let raw = file.rawBytes("h")
        XCTAssertEqual(raw.count, 28)
        XCTAssertEqual(raw.loadUnaligned(fromByteOffset: 0, as: UInt16.self), 0x3C00)  // 1.0
    }

    func testRoundTripBF16RoundsToNearestEven() throws {
        // Ties (1 + 2^-8, 1 + 3 * 2^-8) go to even; just above a tie rounds up; the largest float
        // rounds to infinity. Expected values checked against PyTorch's .bfloat16().
        let aboveTie = Float(bitPattern: 0x3F80_8001), subnormal = Float(bitPattern: 0x0001_16C2)
        let values: [Float] = [1, -1.5, 3.140625, 1.00390625, 1.01171875, aboveTie, .greatestFiniteMagnitude,
                               -.infinity, .nan, 0.1, -0.0, subnormal]
        let expected: [Float] = [1, -1.5, 3.140625, 1, 1.015625, 1.0078125, .infinity,
                                 -.infinity, .nan, 0.10009765625, -0.0, Float(bitPattern: 0x0001_0000)]
        let path = temporaryPath("bf16.safetensors")
        try SafeTensorsWriter.write([(name: "b", tensor: Tensor(shape: [12], values: values), dtype: .BF16)], to: path)

        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(file.info("b")?.dtype, .BF16)
        assertBitwiseEqual(try file.tensor("b"), shape: [12], expected)
    }

    func testMetadataAndHeaderLayoutMatchTheReferenceWriter() throws {
        let metadata = ["format": "pt", "note": "path/with \"quotes\" and ünïcode"]
        let path = temporaryPath("layout.safetensors")
        try SafeTensorsWriter.write([(name: "z.half", tensor: Tensor(zeros: [3]), dtype: .F16),
                                     (name: "a.float", tensor: Tensor(zeros: [1]), dtype: .F32),
                                     (name: "m.float", tensor: Tensor(zeros: [2]), dtype: .F32)],
                                    metadata: metadata, to: path)

        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(file.metadata, metadata)
        XCTAssertTrue(file.contains("z.half"))
        XCTAssertFalse(file.contains("nothing"))
        XCTAssertNil(file.info("nothing"))
        // Larger elements first, then by name, so every tensor is aligned to its element size.
        XCTAssertEqual(file.info("a.float")?.byteRange, 0 ..< 4)
        XCTAssertEqual(file.info("m.float")?.byteRange, 4 ..< 12)
        XCTAssertEqual(file.info("z.half")?.byteRange, 12 ..< 18)

        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let headerLength = Int(bytes[0 ..< 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        XCTAssertEqual(headerLength % 8, 0)
        let header = String(decoding: bytes[8 ..< 8 + headerLength], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix(#"{"__metadata__":{"format":"pt","note":"path/with"#), header)
        XCTAssertLessThan(header.range(of: "a.float")!.lowerBound, header.range(of: "z.half")!.lowerBound)
    }

    func testF32IsAZeroCopyViewWhoseWritesNeverReachTheFile() throws {
        let path = temporaryPath("view.safetensors")
        try SafeTensorsWriter.write(["w": Tensor(shape: [2, 2], values: [1, 2, 3, 4])], to: path)

        let file = try SafeTensorsFile(path: path)
        let tensor = try file.tensor("w")
        XCTAssertEqual(UnsafeRawPointer(tensor.data), file.rawBytes("w").baseAddress)
        tensor.data[0] = 99
        XCTAssertEqual(try file.tensor("w").toArray(), [99, 2, 3, 4])  // the same private memory
        XCTAssertEqual(try SafeTensorsFile(path: path).tensor("w").toArray(), [1, 2, 3, 4])
    }

    func testTensorKeepsTheMappingAlive() throws {
        let path = temporaryPath("alive.safetensors")
        try SafeTensorsWriter.write(["w": Tensor(shape: [3], values: [5, 6, 7])], to: path)
        let tensor = try SafeTensorsFile(path: path).tensor("w")
        XCTAssertEqual(tensor.toArray(), [5, 6, 7])
    }

    func testConvertedTensorsReadAgainGiveTheSameValues_fromAFileAndFromMemory() throws {
        // Tensors of several pages, unaligned to them: a converted read hands the pages it alone
        // covered back; a second read must find the same values (the file's, not zeros).
        var random = NormalGenerator(seed: 3)
        let half = random.tensor([3, 5000]), brain = random.tensor([7, 1001]), float = random.tensor([9000])
        let path = temporaryPath("pages.safetensors")
        try SafeTensorsWriter.write([(name: "a", tensor: float, dtype: .F32), (name: "b", tensor: brain, dtype: .BF16),
                                     (name: "h", tensor: half, dtype: .F16)], to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let inMemory = try bytes.withUnsafeBytes { try SafeTensorsFile(bytes: $0, name: "pages in memory") }
        for file in [try SafeTensorsFile(path: path), inMemory] {
            for name in ["h", "b", "a"] {
                let first = try file.tensor(name).toArray()
                XCTAssertEqual(try file.tensor(name).toArray(), first, "\(file.path): \(name) read again")
                XCTAssertTrue(first.contains { $0 != 0 }, name)
            }
        }
    }

    func testBytesInMemoryReadLikeTheFile_andBadBytesAreErrors() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "interop", withExtension: "safetensors", subdirectory: "Fixtures"))
        let bytes = try Data(contentsOf: url)
        let fromFile = try SafeTensorsFile(path: url.path)
        let fromMemory = try bytes.withUnsafeBytes { buffer in try SafeTensorsFile(bytes: buffer, name: "embedded interop") }
        XCTAssertEqual(fromMemory.names, fromFile.names)
        for name in fromFile.names {
            XCTAssertEqual(Array(fromMemory.rawBytes(name)), Array(fromFile.rawBytes(name)), name)
        }
        let truncated = bytes.prefix(40)
        XCTAssertThrowsError(try truncated.withUnsafeBytes { try SafeTensorsFile(bytes: $0, name: "cut") }) {
            XCTAssertEqual(($0 as? FCSError)?.code, .format)
            XCTAssertTrue("\($0)".hasPrefix("cut"), "\($0)")
        }
    }

    func testReadsFileWrittenByReferenceImplementation() throws {
        // Made by tools/make_safetensors_fixture.py with Python's safetensors 0.8 and PyTorch.
        let url = try XCTUnwrap(Bundle.module.url(forResource: "interop", withExtension: "safetensors",
                                                  subdirectory: "Fixtures"))
        let file = try SafeTensorsFile(path: url.path)
        XCTAssertEqual(file.names, ["bf16", "f16", "f32"])
        XCTAssertEqual(file.metadata, ["format": "pt", "purpose": "fcs interop fixture"])

        let f32 = try file.tensor("f32")
        XCTAssertEqual(UnsafeRawPointer(f32.data), file.rawBytes("f32").baseAddress)
        assertBitwiseEqual(f32, shape: [2, 4], [1.5, -2.25, .greatestFiniteMagnitude, .leastNonzeroMagnitude,
                                                .infinity, .nan, -0.0, 0.1])
        assertBitwiseEqual(try file.tensor("f16"), shape: [8],
                           [1, -2, Float(Float16(0.1 as Float)), 65504, 6.103515625e-05, 5.9604645e-08, .infinity, .nan])
        assertBitwiseEqual(try file.tensor("bf16"), shape: [2, 2, 2],
                           [1, -1.5, 3.140625, 1, 1.015625, 3.3895314e38, -.infinity, 0.10009765625])
    }

    // MARK: Writer failures

    func testFailedWriteLeavesNoFileAndKeepsTheOldOne() throws {
        let path = temporaryPath("keep.safetensors")
        try SafeTensorsWriter.write(["w": Tensor(shape: [1], values: [1])], to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))

        assertThrows(.invalidArgument, ["keep.safetensors", "I32"]) {
            try SafeTensorsWriter.write([(name: "ids", tensor: Tensor(zeros: [2]), dtype: .I32)], to: path)
        }
        assertThrows(.invalidArgument, ["keep.safetensors", "repeated"]) {
            try SafeTensorsWriter.write([(name: "a", tensor: Tensor(zeros: [2]), dtype: .F32),
                                         (name: "a", tensor: Tensor(zeros: [2]), dtype: .F16)], to: path)
        }
        assertThrows(.invalidArgument, ["keep.safetensors", "__metadata__"]) {
            try SafeTensorsWriter.write(["__metadata__": Tensor(zeros: [2])], to: path)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["keep.safetensors"])

        let nowhere = directory.appendingPathComponent("missing/out.safetensors").path
        assertThrows(.io, ["out.safetensors"]) { try SafeTensorsWriter.write(["w": Tensor(zeros: [1])], to: nowhere) }
    }

    // MARK: Hostile and unusable files

    func testRejectsFileTooShortForTheLengthField() {
        assertRejected(write("empty.safetensors", []), "too short")
        assertRejected(write("short.safetensors", [1, 0, 0]), "too short")
    }

    func testRejectsHeaderLengthBeyondTheFile() {
        assertRejected(write("beyond.safetensors", lengthField(100) + Array("{}".utf8)), "exceeds")
    }

    func testRejectsAbsurdHeaderLength() {
        assertRejected(write("huge.safetensors", lengthField(.max) + Array("{}".utf8)), "too large")
        assertRejected(write("huge2.safetensors", lengthField(100_000_001) + Array("{}".utf8)), "too large")
    }

    func testRejectsHeaderThatIsNotUTF8() {
        assertRejected(write("latin1.safetensors", header: [0x7B, 0x22, 0xE9, 0x22, 0x3A, 0x31, 0x7D]), "UTF-8")
    }

    func testRejectsMalformedJSON() {
        assertRejected(write("malformed.safetensors", header: #"{"a": {"dtype": "F32", "shape": [1]"#), "JSON")
        assertRejected(write("garbage.safetensors", header: "{ nonsense }"), "JSON")
    }

    func testSurvivesDeeplyNestedJSON() {
        let nested = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let header = #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "extra": "# + nested + "}}"
        assertRejected(write("nested.safetensors", header: header, data: 4), "JSON")
    }

    func testRejectsHeaderThatIsNotAnObject() {
        assertRejected(write("array.safetensors", header: "[1, 2]"), "object")
        assertRejected(write("string.safetensors", header: #""{}""#), "object")
    }

    func testRejectsEntryWithMissingField() {
        assertRejected(write("nodtype.safetensors", header: #"{"w": {"shape": [1], "data_offsets": [0, 4]}}"#,
                             data: 4), #""w""#, "dtype", "missing")
        assertRejected(write("noshape.safetensors", header: #"{"w": {"dtype": "F32", "data_offsets": [0, 4]}}"#,
                             data: 4), "shape", "missing")
        assertRejected(write("nooffsets.safetensors", header: #"{"w": {"dtype": "F32", "shape": [1]}}"#,
                             data: 4), "data_offsets", "missing")
    }

    func testRejectsEntryFieldsOfWrongType() {
        assertRejected(write("shapetype.safetensors", header: entry("w", shape: #""1x4""#, offsets: "[0, 4]"), data: 4),
                       #""w""#, "shape")
        assertRejected(write("dtypetype.safetensors", header: #"{"w": {"dtype": 32, "shape": [1], "data_offsets": [0, 4]}}"#,
                             data: 4), "dtype")
        assertRejected(write("entrytype.safetensors", header: #"{"w": [1, 2]}"#), #""w""#)
        assertRejected(write("metatype.safetensors", header: #"{"__metadata__": {"epochs": 3}}"#), "__metadata__", "epochs")
        assertRejected(write("offsetcount.safetensors", header: entry("w", shape: "[1]", offsets: "[0]"), data: 4),
                       "data_offsets", "[begin, end]")
    }

    func testRejectsNegativeOrFractionalDimensions() {
        assertRejected(write("negative.safetensors", header: entry("w", shape: "[-1, 4]", offsets: "[0, 0]")), "negative")
        assertRejected(write("fraction.safetensors", header: entry("w", shape: "[2.5]", offsets: "[0, 10]"), data: 10),
                       "shape[0]", "integer")
        assertRejected(write("bignum.safetensors", header: entry("w", shape: "[1e30]", offsets: "[0, 4]"), data: 4),
                       "integer")
    }

    func testRejectsElementCountOverflow() {
        assertRejected(write("overflow.safetensors", header: entry("w", shape: "[4611686018427387904, 4]", offsets: "[0, 0]")),
                       "overflow")
        assertRejected(write("overflow2.safetensors",
                             header: entry("w", shape: "[0, 4611686018427387904, 4611686018427387904]", offsets: "[0, 0]")),
                       "overflow")
    }

    /// A tensor of 2^31 values (a sparse 4 GiB file) is beyond the kernels' 32-bit offsets.
    func testRejectsTensorsOf2To31Elements() throws {
        let elements = 1 << 31
        let path = write("huge.safetensors", header: entry("w", dtype: "F16", shape: "[\(elements)]", offsets: "[0, \(2 * elements)]"))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: try handle.seekToEnd() + UInt64(2 * elements))
        try handle.close()
        assertRejected(path, "2147483648 elements, more than fcs's limit of 2^31 per tensor")
    }

    func testRejectsOffsetsOutsideTheBuffer() {
        assertRejected(write("past.safetensors", header: entry("w", shape: "[4]", offsets: "[0, 16]"), data: 8), "past the end")
        assertRejected(write("far.safetensors", header: entry("w", shape: "[1]", offsets: "[9223372036854775800, 9223372036854775804]"),
                             data: 4), "past the end")
        assertRejected(write("backwards.safetensors", header: entry("w", shape: "[0]", offsets: "[8, 4]"), data: 8), "after")
        assertRejected(write("below.safetensors", header: entry("w", shape: "[1]", offsets: "[-4, 0]"), data: 4), "negative")
    }

    func testRejectsOverlappingTensors() {
        let header = #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},"#
            + #" "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#
        assertRejected(write("overlap.safetensors", header: header, data: 12), "overlaps")
    }

    func testRejectsGapsAndTrailingBytes() {
        let header = #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},"#
            + #" "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}"#
        assertRejected(write("gap.safetensors", header: header, data: 12), "gap")
        assertRejected(write("trailing.safetensors", header: entry("w", shape: "[1]", offsets: "[0, 4]"), data: 8), "trailing")
    }

    func testRejectsShapeThatDisagreesWithByteLength() {
        assertRejected(write("size.safetensors", header: entry("w", shape: "[3]", offsets: "[0, 8]"), data: 8),
                       "needs 12 bytes")
    }

    func testRejectsDuplicateTensorNames() {
        let header = #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},"#
            + #" "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#
        assertRejected(write("duplicate.safetensors", header: header, data: 8), "duplicate", #""a""#)
        let escaped = #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},"#
            + #" "\u0061": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#
        assertRejected(write("escaped.safetensors", header: escaped, data: 8), "duplicate")
    }

    func testRejectsUnknownDType() {
        assertRejected(write("dtype.safetensors", header: entry("w", dtype: "F128", shape: "[1]", offsets: "[0, 16]"),
                             data: 16), "unknown dtype", "F128")
    }

    func testUnsupportedDTypeFailsOnlyWhenConverted() throws {
        let header = #"{"ids": {"dtype": "I32", "shape": [2], "data_offsets": [0, 8]},"#
            + #" "w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}"#
        let path = write("ints.safetensors", header: header, data: 12)
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(file.rawBytes("ids").count, 8)
        XCTAssertEqual(try file.tensor("w").toArray(), [0])
        assertThrows(.format, ["ints.safetensors", "I32", #""ids""#]) { _ = try file.tensor("ids") }
    }

    func testUnknownTensorNameListsAvailableNames() throws {
        let path = temporaryPath("names.safetensors")
        try SafeTensorsWriter.write(["unet.conv_in.weight": Tensor(zeros: [1])], to: path)
        let file = try SafeTensorsFile(path: path)
        assertThrows(.invalidArgument, ["names.safetensors", "no tensor named \"vae\"", "unet.conv_in.weight"]) {
            _ = try file.tensor("vae")
        }
    }

    func testMissingFileAndDirectoryAreIOErrors() {
        assertRejected(temporaryPath("absent.safetensors"), code: .io, "cannot open")
        assertRejected(directory.path, code: .io, "regular file")
    }

    // MARK: Helpers

    private func temporaryPath(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func lengthField(_ length: UInt64) -> [UInt8] { withUnsafeBytes(of: length.littleEndian, Array.init) }

    /// A header with one tensor entry; fields are raw JSON.
    private func entry(_ name: String, dtype: String = "F32", shape: String, offsets: String) -> String {
        #"{"\#(name)": {"dtype": "\#(dtype)", "shape": \#(shape), "data_offsets": \#(offsets)}}"#
    }

    private func write(_ name: String, _ bytes: [UInt8]) -> String {
        let path = temporaryPath(name)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }

    /// A file with the given header bytes and `data` zero bytes after it.
    private func write(_ name: String, header: [UInt8], data: Int = 0) -> String {
        write(name, lengthField(UInt64(header.count)) + header + [UInt8](repeating: 0, count: data))
    }

    private func write(_ name: String, header: String, data: Int = 0) -> String {
        write(name, header: Array(header.utf8), data: data)
    }

    /// Opening `path` fails with `code`, and the message names the file and contains `words`.
    private func assertRejected(_ path: String, code: FCSError.Code = .format, _ words: String...,
                                file: StaticString = #filePath, line: UInt = #line) {
        assertThrows(code, [URL(fileURLWithPath: path).lastPathComponent] + words, file: file, line: line) {
            _ = try SafeTensorsFile(path: path)
        }
    }

    private func assertThrows(_ code: FCSError.Code, _ words: [String], file: StaticString = #filePath,
                              line: UInt = #line, _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("no error thrown", file: file, line: line)
        } catch let error as FCSError {
            XCTAssertEqual(error.code, code, error.message, file: file, line: line)
            for word in words where !error.message.contains(word) {
                XCTFail("message lacks \"\(word)\": \(error.message)", file: file, line: line)
            }
        } catch {
            XCTFail("not an FCSError: \(error)", file: file, line: line)
        }
    }

    /// The tensor has `shape` and exactly the bits of `expected` (any NaN matches any NaN).
    private func assertBitwiseEqual(_ tensor: Tensor, shape: [Int], _ expected: [Float],
                                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(tensor.shape, shape, file: file, line: line)
        let actual = tensor.toArray()
        XCTAssertEqual(actual.count, expected.count, file: file, line: line)
        for (index, (a, e)) in zip(actual, expected).enumerated() where !(a.isNaN && e.isNaN) && a.bitPattern != e.bitPattern {
            XCTFail("element \(index): \(a) != \(e)", file: file, line: line)
        }
    }
}
