import _FCSResources
import FCSTensor
import FoundationEssentials

/// The tokenizer of Stable Diffusion 1.x's text encoder (OpenAI CLIP ViT-L/14): byte-level BPE
/// with CLIP's pre-tokenization.
///
/// Matches transformers' `CLIPTokenizer` (tokenization_clip.py, transformers 5.23, backed by
/// `tokenizers`): normalise (NFC, every run of white space to one space, lower case), split into
/// words by CLIP's pattern, BPE each word, then `<|startoftext|>` … `<|endoftext|>`. The
/// pipeline form (``callAsFunction(_:maxLength:)``) truncates and pads to 77 with the pad token
/// (`<|endoftext|>` for SD 1.x, `!` for SD 2.x), as diffusers' `StableDiffusionPipeline` asks it to.
public struct CLIPTokenizer: Sendable {
    public static let startOfText = "<|startoftext|>"
    public static let endOfText = "<|endoftext|>"

    private let vocabulary: [String: Int32]
    private let bpe: BytePairEncoding
    public let bosTokenID: Int32
    public let eosTokenID: Int32
    /// What fills a prompt up to 77 tokens: `<|endoftext|>` in SD 1.x's tokenizer files, `!`
    /// (id 0) in SD 2.x's; unknown symbols are `<|endoftext|>` in both.
    public let padTokenID: Int32
    /// The largest id the tokenizer produces: the text encoder's vocabulary must hold it.
    let largestTokenID: Int32

    /// From a diffusers `tokenizer/` folder's `vocab.json` and `merges.txt`.
    /// - Parameter padToken: the token prompts are padded with (``PadToken/read(folder:)``).
    /// - Throws: `.io` for a file that cannot be read; `.format` naming the file for a
    ///   vocabulary that is not a JSON object of token → id from 0 to
    ///   ``ConfigLimits/maxVocabulary``, lacks the special tokens or the pad token, or misses a
    ///   symbol that a merge makes or merges, and for merges that are not two symbols a line, or
    ///   none at all.
    public init(vocabularyPath: String, mergesPath: String, padToken: String = endOfText) throws(FCSError) {
        let vocabulary = try Self.readVocabulary(vocabularyPath)
        let lines = String(decoding: try readFile(mergesPath), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let merges = try Self.parseMerges(lines.dropFirst(lines.first?.hasPrefix("#version") == true ? 1 : 0), path: mergesPath)
        guard !merges.isEmpty else { throw .format("\(mergesPath): has no merges (an empty or truncated file)") }
        // as Hugging Face tokenizers' BPE builder: every merge's symbols are in the vocabulary
        for (line, (first, second)) in merges.enumerated() {
            for symbol in [first, second, first + second] where vocabulary[symbol] == nil {
                throw .format("\(mergesPath): merge \(line + 1) (\"\(first) \(second)\") uses \"\(symbol)\", which \(vocabularyPath) lacks")
            }
        }
        try self.init(vocabulary: vocabulary, merges: merges, padToken: padToken, source: vocabularyPath)
    }

    /// A diffusers `tokenizer/` folder: `vocab.json`, `merges.txt` and the pad token its
    /// `special_tokens_map.json` / `tokenizer_config.json` name.
    public init(folder: String) throws(FCSError) {
        try self.init(vocabularyPath: folder + "/vocab.json", mergesPath: folder + "/merges.txt",
                      padToken: try PadToken.read(folder: folder))
    }

    private static func readVocabulary(_ path: String) throws(FCSError) -> [String: Int32] {
        let vocabulary = try readFile(path).withUnsafeBytes { json in
            Result { () throws(FCSError) in try decodeJSON([String: Int32].self, from: json, source: path) }
        }.get()
        if let (token, id) = vocabulary.first(where: { $0.value < 0 || Int($0.value) >= ConfigLimits.maxVocabulary }) {
            throw .format("\(path): token \"\(token)\" has id \(id), outside 0 ..< \(ConfigLimits.maxVocabulary) (ConfigLimits.maxVocabulary)")
        }
        return vocabulary
    }

    /// SD 1.x's and SD 2.x's vocabulary, OpenAI CLIP's `bpe_simple_vocab_16e6.txt.gz` (which
    /// OpenCLIP ships too), compiled into fcs: for single-file checkpoints, which carry no tokenizer.
    /// - Parameter padToken: `<|endoftext|>` for SD 1.x, `!` for SD 2.x (their tokenizer files' pad tokens).
    public static func openAICLIP(padToken: String = endOfText) throws(FCSError) -> CLIPTokenizer {
        let gzip = UnsafeRawBufferPointer(start: fcs_clip_bpe_vocabulary(), count: fcs_clip_bpe_vocabulary_size())
        return try CLIPTokenizer(bpeMerges: try gunzipIfCompressed(gzip, source: "built-in CLIP vocabulary"),
                                 padToken: padToken, source: "built-in CLIP vocabulary")
    }

    /// From a file in OpenAI CLIP's `bpe_simple_vocab_16e6.txt(.gz)` format. The vocabulary is
    /// built as CLIP's `SimpleTokenizer` builds it: the 256 byte symbols, the same with `</w>`,
    /// one symbol per merge, the two specials.
    public init(bpeVocabularyPath path: String) throws(FCSError) {
        try self.init(bpeMerges: try readFile(path), source: path)
    }

    private init(bpeMerges bytes: [UInt8], padToken: String = endOfText, source: String) throws(FCSError) {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        // CLIP keeps merges 1 ..< 49152 - 256 - 2 + 1 (line 0 is the version header)
        guard lines.count > 48894 else { throw .format("\(source): expected CLIP's 48,894 merges, found \(max(0, lines.count - 1)) lines") }
        let merges = try Self.parseMerges(lines[1..<48895], path: source)
        var symbols = BytePairEncoding.byteSymbolsInVocabularyOrder
        symbols += symbols.map { $0 + "</w>" }
        symbols += merges.map { $0.0 + $0.1 }
        symbols += [Self.startOfText, Self.endOfText]
        var vocabulary = [String: Int32](minimumCapacity: symbols.count)
        for (id, symbol) in symbols.enumerated() { vocabulary[symbol] = Int32(id) }
        try self.init(vocabulary: vocabulary, merges: merges, padToken: padToken, source: source)
    }

    private init(vocabulary: [String: Int32], merges: [(String, String)], padToken: String, source: String) throws(FCSError) {
        guard let bos = vocabulary[Self.startOfText], let eos = vocabulary[Self.endOfText] else {
            throw .format("\(source): vocabulary lacks \(Self.startOfText) or \(Self.endOfText)")
        }
        guard let pad = vocabulary[padToken] else {
            throw .format("\(source): vocabulary lacks the pad token \"\(padToken)\"")
        }
        self.vocabulary = vocabulary
        bpe = BytePairEncoding(merges: merges)
        (bosTokenID, eosTokenID, padTokenID) = (bos, eos, pad)
        largestTokenID = vocabulary.values.max() ?? eos
    }

    private static func parseMerges(_ lines: some Sequence<Substring>, path: String) throws(FCSError) -> [(String, String)] {
        var merges: [(String, String)] = []
        for (number, line) in lines.enumerated() where !line.isEmpty {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { throw .format("\(path): merge line \(number + 1) is not two symbols: \"\(line)\"") }
            merges.append((String(parts[0]), String(parts[1])))
        }
        return merges
    }

    /// `<|startoftext|>`, the prompt's tokens, `<|endoftext|>`: no truncation, no padding.
    public func encode(_ text: String) -> [Int32] {
        var ids = [bosTokenID]
        for word in Self.preTokenize(Self.normalize(text)) {
            if word == Self.startOfText || word == Self.endOfText {
                ids.append(word == Self.startOfText ? bosTokenID : eosTokenID)
                continue
            }
            ids += bpe.encode(word: word).map { vocabulary[$0] ?? eosTokenID }  // the unknown token
        }
        return ids + [eosTokenID]
    }

    /// The text encoder's input: ``encode(_:)`` truncated to `maxLength` (keeping
    /// `<|endoftext|>` last) and padded with the pad token to exactly `maxLength` (none for
    /// a `maxLength` below 1).
    public func callAsFunction(_ text: String, maxLength: Int = 77) -> [Int32] {
        guard maxLength >= 1 else { return [] }
        var ids = encode(text)
        if ids.count > maxLength {
            ids = Array(ids.prefix(maxLength - 1)) + [eosTokenID]
        }
        return ids + [Int32](repeating: padTokenID, count: maxLength - ids.count)
    }

    /// tokenizers' normaliser: NFC, `\s+` → " ", then lower case character by character.
    static func normalize(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        var inSpace = false
        for scalar in String(decoding: text._nfcCodeUnits, as: UTF8.self).unicodeScalars {
            if scalar.properties.isWhitespace {
                if !inSpace { result.append(" ") }
                inSpace = true
            } else {
                result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
                inSpace = false
            }
        }
        return String(result)
    }

    /// CLIP's pattern, kept matches only (white space between them is dropped):
    /// `<|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`,
    /// matched by hand with the same leftmost, first-alternative-wins rule.
    static func preTokenize(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        func isLetter(_ s: Unicode.Scalar) -> Bool {
            switch s.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
            default: false
            }
        }
        func isNumber(_ s: Unicode.Scalar) -> Bool {
            switch s.properties.generalCategory {
            case .decimalNumber, .letterNumber, .otherNumber: true
            default: false
            }
        }
        func hasPrefix(_ literal: String, at i: Int) -> Bool {
            let literal = Array(literal.unicodeScalars)
            return i + literal.count <= scalars.count && Array(scalars[i..<(i + literal.count)]) == literal
        }
        var words: [String] = []
        var i = 0
        while i < scalars.count {
            var end = i
            if let literal = ([startOfText, endOfText] + ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]).first(where: { hasPrefix($0, at: i) }) {
                end = i + literal.unicodeScalars.count
            } else if isLetter(scalars[i]) {
                while end < scalars.count && isLetter(scalars[end]) { end += 1 }
            } else if isNumber(scalars[i]) {
                end = i + 1
            } else if !scalars[i].properties.isWhitespace {
                while end < scalars.count && !scalars[end].properties.isWhitespace && !isLetter(scalars[end]) && !isNumber(scalars[end]) {
                    end += 1
                }
            }
            if end == i {  // white space: not part of any match
                i += 1
                continue
            }
            var word = String.UnicodeScalarView()
            word.append(contentsOf: scalars[i..<end])
            words.append(String(word))
            i = end
        }
        return words
    }
}
