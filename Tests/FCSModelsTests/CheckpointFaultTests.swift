import FCSModels
import FCSTensor
import Foundation
import XCTest

/// Damaged checkpoint files — truncated downloads, flipped bytes in the header — are clean
/// FCSErrors (format or io), never a trap; a damaged file loads only if the damage left it a
/// valid safetensors file. Both a single-file checkpoint and a diffusers folder's file.
final class CheckpointFaultTests: TemporaryFolderTestCase {
    private var tinySD: String { Bundle.module.resourcePath! + "/Fixtures/tiny-sd" }

    /// A checkpoint under test: where its damaged copy goes, and how a model is loaded from it.
    private struct Subject {
        let name: String
        let original: Data
        let damagedPath: String
        let loadModel: () throws -> Void
    }

    /// The single file, loaded with the tiny configs; and the folder's text encoder file (the
    /// first one a folder load opens), loaded as the whole folder.
    private func subjects() throws -> [Subject] {
        let single = temporary.appendingPathComponent("tiny-sd.safetensors").path
        var options = StableDiffusion.LoadOptions()
        options.configFolder = tinySD
        let folder = temporary.appendingPathComponent("folder").path
        try FileManager.default.copyItem(atPath: tinySD, toPath: folder)
        return [
            Subject(name: "single file", original: try Data(contentsOf: URL(fileURLWithPath: tinySD + "/tiny-sd.safetensors")),
                    damagedPath: single, loadModel: { _ = try StableDiffusion.load(single, options: options) }),
            Subject(name: "folder file", original: try Data(contentsOf: URL(fileURLWithPath: tinySD + "/text_encoder/model.safetensors")),
                    damagedPath: folder + "/text_encoder/model.safetensors", loadModel: { _ = try StableDiffusion.load(folder) }),
        ]
    }

    func test_truncatedCheckpoints_areCleanErrors() throws {
        for subject in try subjects() {
            let length = subject.original.count
            let cuts = [0, 1, 7] + (0..<64).map { $0 * length / 64 } + [length - 1]
            for cut in cuts {
                try subject.original.prefix(cut).write(to: URL(fileURLWithPath: subject.damagedPath))
                let context = "\(subject.name) cut to \(cut) of \(length) bytes"
                assertCleanError(try SafeTensorsFile(path: subject.damagedPath), context)
                assertCleanError(try subject.loadModel(), context)
            }
        }
    }

    func test_flippedHeaderBytes_areCleanErrors_orLoadOnlyIfStillValid() throws {
        var random = SplitMix64(seed: 0x5AFE_7E45)
        for subject in try subjects() {
            let headerEnd = 8 + Int(subject.original.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            var opened = 0
            for variant in 0..<200 {
                var damaged = subject.original
                let flips = 1 + Int(random.next() % 8)
                var positions: [Int] = []
                for _ in 0..<flips {
                    // a quarter of the flips hit the 8-byte length, the rest the JSON header
                    let position = random.next() % 4 == 0 ? Int(random.next() % 8) : 8 + Int(random.next() % UInt64(headerEnd - 8))
                    damaged[position] ^= UInt8(1 + random.next() % 255)
                    positions.append(position)
                }
                try damaged.write(to: URL(fileURLWithPath: subject.damagedPath))
                let context = "\(subject.name) variant \(variant), bytes \(positions) flipped"
                let expected = ReferenceHeader(damaged)
                do {
                    let file = try SafeTensorsFile(path: subject.damagedPath)
                    opened += 1
                    guard let expected else { XCTFail("\(context): opened, but the file is invalid"); continue }
                    XCTAssertEqual(Set(file.names), Set(expected.tensors.keys), context)
                    for name in file.names {
                        let info = try XCTUnwrap(file.info(name))
                        XCTAssertEqual(expected.tensors[name].map { [$0.begin, $0.end] + $0.shape },
                                       [info.byteRange.lowerBound, info.byteRange.upperBound] + info.shape, "\(context): \(name)")
                        if [.F32, .F16, .BF16].contains(info.dtype) { _ = try file.tensor(name) }
                    }
                    assertLoadsOrCleanError(try subject.loadModel(), context)
                } catch let error as FCSError {
                    XCTAssertTrue([.format, .io].contains(error.code), "\(context): \(error.code)")
                    XCTAssertNil(expected.map { _ in "valid" }, "\(context): a valid file was refused: \(error.message)")
                }
            }
            XCTAssertLessThan(opened, 200, "\(subject.name): some damage is detected")
        }
    }

    private func assertCleanError(_ body: @autoclosure () throws -> some Any, _ context: String,
                                  file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try body()
            XCTFail("\(context): loaded", file: file, line: line)
        } catch let error as FCSError {
            XCTAssertTrue([.format, .io].contains(error.code), "\(context): \(error.code) \(error.message)", file: file, line: line)
        } catch {
            XCTFail("\(context): \(error) is not an FCSError", file: file, line: line)
        }
    }

    private func assertLoadsOrCleanError(_ body: @autoclosure () throws -> Void, _ context: String) {
        do { try body() } catch let error as FCSError {
            XCTAssertTrue([.format, .io].contains(error.code), "\(context): \(error.code) \(error.message)")
        } catch {
            XCTFail("\(context): \(error) is not an FCSError")
        }
    }
}

/// An independent reading of a safetensors file by the format's rules (Foundation's
/// JSONSerialization, not fcs's parser): nil when the file is invalid.
private struct ReferenceHeader {
    struct Entry { let shape: [Int]; let begin: Int; let end: Int }
    var tensors: [String: Entry] = [:]

    private static let sizes: [String: Int] = [
        "F64": 8, "I64": 8, "U64": 8, "C64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2, "I16": 2, "U16": 2,
        "I8": 1, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E4M3FNUZ": 1, "F8_E5M2": 1, "F8_E5M2FNUZ": 1, "F8_E8M0": 1,
    ]

    init?(_ file: Data) {
        let bytes = [UInt8](file)
        guard bytes.count >= 8 else { return nil }
        let length = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= 100_000_000, Int(length) <= bytes.count - 8 else { return nil }
        let json = Data(bytes[8 ..< 8 + Int(length)])
        guard String(data: json, encoding: .utf8) != nil,
              let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else { return nil }
        let dataLength = bytes.count - 8 - Int(length)
        var ranges: [(Int, Int)] = []
        for (name, value) in object {
            if name == "__metadata__" {
                guard let metadata = value as? [String: Any], metadata.values.allSatisfy({ $0 is String }) else { return nil }
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String, let size = Self.sizes[dtype],
                  let shape = Self.integers(entry["shape"]), shape.allSatisfy({ $0 >= 0 }),
                  let offsets = Self.integers(entry["data_offsets"]), offsets.count == 2,
                  offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataLength else { return nil }
            var count = size
            for dimension in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
                guard !overflow else { return nil }
                count = product
            }
            guard count == offsets[1] - offsets[0] else { return nil }
            tensors[name] = Entry(shape: shape, begin: offsets[0], end: offsets[1])
            ranges.append((offsets[0], offsets[1]))
        }
        var end = 0
        for (begin, stop) in ranges.sorted(by: { $0 < $1 }) {
            guard begin == end else { return nil }
            end = stop
        }
        guard end == dataLength else { return nil }
    }

    /// A JSON list of integers (JSONSerialization gives NSNumbers, which booleans and
    /// fractions are too).
    private static func integers(_ value: Any?) -> [Int]? {
        guard let list = value as? [Any] else { return nil }
        var result: [Int] = []
        for element in list {
            guard let number = element as? NSNumber, !["c", "d", "f"].contains(String(cString: number.objCType)),
                  let integer = element as? Int else { return nil }
            result.append(integer)
        }
        return result
    }
}

/// A small seeded generator, so every run damages the files the same way.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
