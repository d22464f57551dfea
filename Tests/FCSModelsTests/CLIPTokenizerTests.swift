import FCSModels
import FCSTensor
import Foundation
import XCTest

/// Token ids against transformers' CLIPTokenizer (fixtures from tools/make_tokenizer_fixtures.py).
final class CLIPTokenizerTests: XCTestCase {
    struct Case: Decodable {
        let text: String
        let ids: [Int32]
        let padded: [Int32]
    }

    private var fixtures: String { Bundle.module.resourcePath! + "/Fixtures/tokenizer" }

    private func assertMatchesTransformers(_ tokenizer: CLIPTokenizer, _ prompts: String,
                                           file: StaticString = #filePath, line: UInt = #line) throws {
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: URL(fileURLWithPath: prompts)))
        XCTAssertGreaterThanOrEqual(cases.count, 50)
        for c in cases {
            XCTAssertEqual(tokenizer.encode(c.text), c.ids, "ids of \(c.text.debugDescription)", file: file, line: line)
            XCTAssertEqual(tokenizer(c.text), c.padded, "padded ids of \(c.text.debugDescription)", file: file, line: line)
        }
    }

    func test_realVocabulary_matchesTransformers() throws {
        let tokenizer = try CLIPTokenizer.openAICLIP()  // the vocabulary compiled into fcs
        XCTAssertEqual(tokenizer.encode("a photo of a cat"), [49406, 320, 1125, 539, 320, 2368, 49407])
        try assertMatchesTransformers(tokenizer, fixtures + "/prompts.json")
    }

    func test_diffusersFolderFormat_matchesTransformers() throws {
        let tokenizer = try CLIPTokenizer(vocabularyPath: fixtures + "/small/vocab.json", mergesPath: fixtures + "/small/merges.txt")
        try assertMatchesTransformers(tokenizer, fixtures + "/small/prompts.json")
    }

    func test_badFiles_giveErrorsNamingTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fcs-tokenizer-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let vocab = dir.appendingPathComponent("vocab.json").path, merges = dir.appendingPathComponent("merges.txt").path
        try Data("[1, 2]".utf8).write(to: URL(fileURLWithPath: vocab))
        try Data("#version: 0.2\na b\n".utf8).write(to: URL(fileURLWithPath: merges))
        XCTAssertThrowsError(try CLIPTokenizer(vocabularyPath: vocab, mergesPath: merges)) {
            XCTAssertTrue("\($0)".contains("vocab.json"), "\($0)")
        }
        try Data(#"{"a": 0, "<|startoftext|>": 1, "<|endoftext|>": 2}"#.utf8).write(to: URL(fileURLWithPath: vocab))
        try Data("#version: 0.2\na b c\n".utf8).write(to: URL(fileURLWithPath: merges))
        XCTAssertThrowsError(try CLIPTokenizer(vocabularyPath: vocab, mergesPath: merges)) {
            XCTAssertTrue("\($0)".contains("merges.txt") && "\($0)".contains("line 1"), "\($0)")
        }
        XCTAssertThrowsError(try CLIPTokenizer(bpeVocabularyPath: dir.appendingPathComponent("missing.gz").path)) {
            XCTAssertTrue("\($0)".contains("missing.gz"), "\($0)")
        }
        XCTAssertThrowsError(try CLIPTokenizer(bpeVocabularyPath: merges)) {  // too few merges
            XCTAssertTrue("\($0)".contains("merges.txt"), "\($0)")
        }
        let damaged = dir.appendingPathComponent("damaged.txt.gz").path
        try Data([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF]).write(to: URL(fileURLWithPath: damaged))
        XCTAssertThrowsError(try CLIPTokenizer(bpeVocabularyPath: damaged)) {
            XCTAssertTrue("\($0)".contains("damaged.txt.gz") && "\($0)".contains("gzip"), "\($0)")
        }
    }

    func test_corruptVocabularyAndMerges_areErrorsNamingTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fcs-tokenizer-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let vocab = dir.appendingPathComponent("vocab.json").path, merges = dir.appendingPathComponent("merges.txt").path
        let goodVocab = try Data(contentsOf: URL(fileURLWithPath: fixtures + "/small/vocab.json"))
        let goodMerges = try Data(contentsOf: URL(fileURLWithPath: fixtures + "/small/merges.txt"))
        let specials = #""<|startoftext|>": 1, "<|endoftext|>": 2"#
        let vocabularies: [(String, Data)] = [
            ("empty", Data()),
            ("a list", Data("[1, 2]".utf8)),
            ("no special tokens", Data(#"{"a": 0}"#.utf8)),
            ("a negative id", Data(#"{"a": -1, \#(specials)}"#.utf8)),
            ("a huge id", Data(#"{"a": 2000000000, \#(specials)}"#.utf8)),
            ("an id beyond Int32", Data(#"{"a": 9000000000, \#(specials)}"#.utf8)),
            ("a string id", Data(#"{"a": "0", \#(specials)}"#.utf8)),
            ("truncated", goodVocab.prefix(goodVocab.count / 2)),
            ("lacking a merged symbol", Data(#"{"a": 0, "b": 3, \#(specials)}"#.utf8)),
        ]
        try goodMerges.write(to: URL(fileURLWithPath: merges))
        for (name, bytes) in vocabularies {
            try bytes.write(to: URL(fileURLWithPath: vocab))
            assertFCSError(try CLIPTokenizer(vocabularyPath: vocab, mergesPath: merges), naming: ["vocab.json"], "vocab.json \(name)")
        }
        let mergeFiles: [(String, Data)] = [
            ("empty", Data()),
            ("only the header", Data("#version: 0.2\n".utf8)),
            ("three symbols a line", Data("#version: 0.2\na b c\n".utf8)),
            ("one symbol a line (truncated mid-line)", goodMerges.prefix(goodMerges.count / 2) + Data("\nab".utf8)),
            ("symbols the vocabulary lacks", Data("#version: 0.2\nzzq xxq\n".utf8)),
        ]
        try goodVocab.write(to: URL(fileURLWithPath: vocab))
        XCTAssertNoThrow(try CLIPTokenizer(vocabularyPath: vocab, mergesPath: merges))
        for (name, bytes) in mergeFiles {
            try bytes.write(to: URL(fileURLWithPath: merges))
            assertFCSError(try CLIPTokenizer(vocabularyPath: vocab, mergesPath: merges), naming: ["merges.txt"], "merges.txt \(name)")
        }
    }

    func test_vocabularyLargerThanTheTextEncoders_isRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fcs-tokenizer-\(UUID())").path
        try FileManager.default.copyItem(atPath: Bundle.module.resourcePath! + "/Fixtures/tiny-sd", toPath: folder)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/tokenizer/vocab.json"
        var vocabulary = try JSONDecoder().decode([String: Int32].self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        vocabulary["extra"] = 5000  // the text encoder's vocab_size is 1000
        try JSONEncoder().encode(vocabulary).write(to: URL(fileURLWithPath: path))
        assertFCSError(try StableDiffusion.load(folder), naming: ["vocab.json", "vocab_size", "5000"], "id 5000")
    }

    func test_paddingToNoLength_givesNoIDs() throws {
        let tokenizer = try CLIPTokenizer(vocabularyPath: fixtures + "/small/vocab.json", mergesPath: fixtures + "/small/merges.txt")
        XCTAssertEqual(tokenizer("a photo", maxLength: 0), [])
        XCTAssertEqual(tokenizer("a photo", maxLength: -5), [])
        XCTAssertEqual(tokenizer("a photo", maxLength: 1), [tokenizer.eosTokenID])
    }

    /// A copy of the small vocabulary's folder with `files` (name → JSON text) beside it.
    private func tokenizerFolder(_ files: [String: String]) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fcs-tokenizer-\(UUID())").path
        try FileManager.default.copyItem(atPath: fixtures + "/small", toPath: folder)
        for (name, text) in files { try Data(text.utf8).write(to: URL(fileURLWithPath: folder + "/" + name)) }
        return folder
    }

    func test_padToken_isReadAsTransformersReadsIt() throws {
        let sd2 = try tokenizerFolder(["tokenizer_config.json": #"{"pad_token": "!", "tokenizer_class": "CLIPTokenizer"}"#,
                                       "special_tokens_map.json": #"{"pad_token": {"content": "!", "lstrip": false}}"#])
        defer { try? FileManager.default.removeItem(atPath: sd2) }
        let tokenizer = try CLIPTokenizer(folder: sd2)
        XCTAssertEqual(tokenizer.padTokenID, 0)  // "!" is the first byte symbol
        let padded = tokenizer("a photo")
        XCTAssertEqual(padded.count, 77)
        XCTAssertEqual(Array(padded.prefix(tokenizer.encode("a photo").count)), tokenizer.encode("a photo"))
        XCTAssertEqual(padded.last, 0)
        // special_tokens_map.json overrides tokenizer_config.json, unless that has added_tokens_decoder
        let cases: [([String: String], String)] = [
            ([:], CLIPTokenizer.endOfText),
            (["tokenizer_config.json": #"{"pad_token": "!"}"#, "special_tokens_map.json": #"{"pad_token": "<|endoftext|>"}"#], CLIPTokenizer.endOfText),
            (["tokenizer_config.json": #"{"pad_token": "!", "added_tokens_decoder": {}}"#,
              "special_tokens_map.json": #"{"pad_token": "<|endoftext|>"}"#], "!"),
            (["special_tokens_map.json": #"{"bos_token": "<|startoftext|>"}"#], CLIPTokenizer.endOfText),
        ]
        for (files, expected) in cases {
            let folder = try tokenizerFolder(files)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            XCTAssertEqual(try PadToken.read(folder: folder), expected, "\(files)")
        }
        for (files, word) in [(["tokenizer_config.json": #"{"pad_token": 5}"#], "tokenizer_config.json"),
                              (["special_tokens_map.json": #"{"pad_token": "<pad>"}"#], "<pad>")] {
            let folder = try tokenizerFolder(files)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            assertFCSError(try CLIPTokenizer(folder: folder), naming: [word], "\(files)")
        }
    }
}
