@testable import FCSCommand
import FCSTensor
import Foundation
import XCTest

/// `fcs bench models --peer FILE`: the file tools/bench_models_torch.py --json writes, read back;
/// the comparison table and the goal lines on made-up figures; bad files are errors naming them.
final class PeerComparisonTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("fcs-peer-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// `json` written to a file of the temporary folder; its path.
    private func write(_ json: String, name: String = "peer.json") throws -> String {
        let path = folder.appendingPathComponent(name).path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The shape the torch script writes on an AVX512_BF16 CPU (`json.dump(…, indent=1)`),
    /// with `rows` as given and the other fields filled in.
    private func peerJSON(rows: String, threads: Int = 2, variants: String = #"["fp32", "bf16 autocast", "bf16 weights"]"#) -> String {
        """
        {"cpu": "AMD EPYC", "flags": {"avx2": true, "fma": true, "avx512f": true, "avx512_bf16": true, "amx_bf16": false},
         "torch": "2.13.0+cpu", "threads": \(threads), "repeats": 2, "variants": \(variants),
         "rows": \(rows), "unet_relative_error": {}}
        """
    }

    private let unet512 = ModelRow.unet(side: 512, batch: 1), unet256 = ModelRow.unet(side: 256, batch: 1)

    func test_goals_areJudgedOnTheRatioToTheNamedVariant() throws {
        let path = try write(peerJSON(rows: """
            {"\(unet512)": {"fp32": 6.0, "bf16 autocast": 4.0, "bf16 weights": 3.8},
             "\(unet256)": {"fp32": 1.0, "bf16 autocast": 0.8, "bf16 weights": 0.7},
             "\(ModelRow.vaeDecode)": {"fp32": 18.0, "bf16 autocast": 12.0, "bf16 weights": 11.0}}
            """))
        let comparison = PeerComparison(peer: try PeerFigures.load(path), source: path)
        let fcs = [(name: unet512, seconds: 3.0), (name: unet256, seconds: 0.6), (name: ModelRow.vaeDecode, seconds: 9.0)]
        let goals = comparison.goals(fcs: fcs, kernels: "avx512")
        XCTAssertEqual(goals.count, 1 + BenchGoal.all.count)
        XCTAssertEqual(verdict(goals, "\(unet512) ≤ 0.5 × PyTorch fp32"), "PASS")  // 3 / 6 = 0.5
        XCTAssertTrue(goals.contains { $0.contains("3.000 s / 6.000 s = 0.50") }, goals.joined(separator: "\n"))
        XCTAssertEqual(verdict(goals, "\(unet512) ≤ 0.8 × PyTorch bf16 autocast"), "PASS")  // 0.75
        XCTAssertEqual(verdict(goals, "\(unet256) ≤ 0.5 × PyTorch fp32"), "FAIL")  // 0.6
        XCTAssertEqual(verdict(goals, "\(ModelRow.vaeDecode) ≤ 0.5 × PyTorch fp32"), "PASS")
        XCTAssertEqual(verdict(goals, "kernels avx2 only: \(unet512) ≤ 0.7 × PyTorch fp32"), "-")
        XCTAssertTrue(goals.contains { $0.contains("not this CPU (fcs GEMM kernels avx512)") })

        let slower = comparison.goals(fcs: [(name: unet512, seconds: 4.0)], kernels: "avx2")
        XCTAssertEqual(verdict(slower, "kernels avx2 only: \(unet512) ≤ 0.7 × PyTorch fp32"), "PASS")  // 0.67
        XCTAssertEqual(verdict(slower, "\(unet512) ≤ 0.8 × PyTorch bf16 autocast"), "FAIL")  // 1.0
        XCTAssertEqual(verdict(slower, "\(unet256) ≤ 0.5 × PyTorch fp32"), "-")  // fcs did not time it
        XCTAssertTrue(slower.contains { $0.contains("fcs did not time \"\(unet256)\"") })
    }

    func test_table_showsEachVariantAndTheRatioToTheBest_andNamesMissingRows() throws {
        let path = try write(peerJSON(rows: #"{"\#(unet512)": {"fp32": 6.0, "bf16 autocast": 4.0, "bf16 weights": 3.0}}"#, threads: 4))
        let table = PeerComparison(peer: try PeerFigures.load(path), source: path)
            .table(fcs: [(name: unet512, seconds: 1.5), (name: ModelRow.taesdDecode, seconds: 0.1)], threads: 2)
        let row = try XCTUnwrap(table.first { $0.hasPrefix(unet512) })
        XCTAssertEqual(row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) },
                       [unet512, "1.500", "6.000", "4.000", "3.000", "0.50 (bf16 weights)"])
        let taesd = try XCTUnwrap(table.first { $0.hasPrefix(ModelRow.taesdDecode) })
        XCTAssertEqual(taesd.split(separator: "|").last?.trimmingCharacters(in: .whitespaces), "-")
        XCTAssertTrue(table.contains("\(path) has no row \"\(ModelRow.taesdDecode)\" (tools/bench_models_torch.py did not time it)"))
        XCTAssertTrue(table.contains { $0.contains("PyTorch ran on 4 threads and fcs on 2") })
        XCTAssertTrue(table[0].contains("flags avx2 avx512_bf16 avx512f fma, not amx_bf16"), table[0])
    }

    func test_fp32OnlyPeer_bf16GoalIsNotMeasured_notACrash() throws {
        let path = try write(peerJSON(rows: #"{"\#(unet512)": {"fp32": 6.0}}"#, variants: #"["fp32"]"#))
        let comparison = PeerComparison(peer: try PeerFigures.load(path), source: path)
        let goals = comparison.goals(fcs: [(name: unet512, seconds: 4.0), (name: ModelRow.vaeDecode, seconds: 9.0)], kernels: "avx2")
        XCTAssertEqual(verdict(goals, "\(unet512) ≤ 0.8 × PyTorch bf16 autocast"), "-")
        XCTAssertTrue(goals.contains { $0.contains("not measured (PyTorch timed fp32 only)") })
        XCTAssertEqual(verdict(goals, "\(ModelRow.vaeDecode) ≤ 0.5 × PyTorch fp32"), "-")
        XCTAssertTrue(goals.contains { $0.contains("\(path) has no row \"\(ModelRow.vaeDecode)\"") })
        XCTAssertEqual(comparison.table(fcs: [(name: unet512, seconds: 4.0)], threads: 2).last?.hasSuffix("0.67 (fp32)"), true)
    }

    func test_badFiles_areErrorsNamingTheFileAndField() throws {
        let cases: [(json: String?, names: String)] = [
            (nil, "cannot open"),
            ("{\"rows\": ", "not valid JSON"),
            ("[1, 2]", "array"),
            (peerJSON(rows: "{}").replacingOccurrences(of: "\"threads\": 2,", with: ""), "threads"),
            (peerJSON(rows: "{}", threads: 0), "threads"),
            (peerJSON(rows: "{}", variants: "[]"), "variants"),
            (peerJSON(rows: #"{"\#(unet512)": {"fp32": "6"}}"#), "rows"),
            (peerJSON(rows: #"{"\#(unet512)": {"fp32": 0}}"#), "\"\(unet512)\": \"fp32\": 0.0 is no time in seconds"),
            (peerJSON(rows: #"{"\#(unet512)": {"fp32": NaN}}"#), "is no time in seconds"),
        ]
        for (index, test) in cases.enumerated() {
            let path = try test.json.map { try write($0, name: "bad\(index).json") } ?? folder.appendingPathComponent("absent.json").path
            XCTAssertThrowsError(try PeerFigures.load(path), "case \(index)") { error in
                let message = (error as? FCSError)?.message ?? "\(error)"
                XCTAssertTrue(message.hasPrefix(path + ":") && message.contains(test.names), "case \(index): \(message)")
                XCTAssertFalse(message.contains("\n"), "case \(index): \(message)")
            }
        }
    }

    /// The result column of the goal line that starts with `goal`.
    private func verdict(_ lines: [String], _ goal: String) -> String? {
        lines.first { $0.hasPrefix(goal + " ") }?.split(separator: "|").last?.trimmingCharacters(in: .whitespaces)
    }
}
