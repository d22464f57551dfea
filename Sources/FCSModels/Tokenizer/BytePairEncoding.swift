/// Byte-level BPE as OpenAI's CLIP and Hugging Face `tokenizers`' `BPE` model (with
/// `end_of_word_suffix = "</w>"`) apply it: a word's UTF-8 bytes become printable characters
/// (``byteToUnicode``), the last one carries the end-of-word marker, then the pair of adjacent
/// symbols with the lowest merge rank is merged until no pair has a rank.
struct BytePairEncoding: Sendable {
    /// merge pair ("a", "b") → rank (line number in merges.txt, 0-based after the header).
    private let ranks: [Pair: Int]

    struct Pair: Hashable {
        let first: String
        let second: String
    }

    init(merges: [(String, String)]) {
        var ranks = [Pair: Int](minimumCapacity: merges.count)
        for (rank, (a, b)) in merges.enumerated() where ranks[Pair(first: a, second: b)] == nil {
            ranks[Pair(first: a, second: b)] = rank
        }
        self.ranks = ranks
    }

    /// GPT-2's `bytes_to_unicode`: the 188 printable bytes map to themselves, the other 68 to
    /// U+0100 upwards, in byte order. CLIP's base vocabulary lists them in that order.
    static let byteToUnicode: [Character] = {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        var table = [Character](repeating: " ", count: 256)
        var next = 256
        for byte in 0..<256 {
            if printable.contains(byte) {
                table[byte] = Character(Unicode.Scalar(UInt8(byte)))
            } else {
                table[byte] = Character(Unicode.Scalar(UInt32(next))!)
                next += 1
            }
        }
        return table
    }()

    /// The order in which CLIP's `bpe_simple_vocab` vocabulary lists the byte symbols.
    static var byteSymbolsInVocabularyOrder: [String] {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        let others = (0..<256).filter { !printable.contains($0) }
        return (printable + others).map { String(byteToUnicode[$0]) }
    }

    /// The symbols of one pre-tokenized word.
    func encode(word: String) -> [String] {
        var symbols = word.utf8.map { String(Self.byteToUnicode[Int($0)]) }
        guard !symbols.isEmpty else { return [] }
        symbols[symbols.count - 1] += "</w>"
        while symbols.count > 1 {
            var best: (rank: Int, index: Int)?
            for i in 0..<(symbols.count - 1) {
                if let rank = ranks[Pair(first: symbols[i], second: symbols[i + 1])], rank < (best?.rank ?? .max) {
                    best = (rank, i)
                }
            }
            guard let best else { break }
            // merge every occurrence of the best pair, left to right
            let (first, second) = (symbols[best.index], symbols[best.index + 1])
            var merged: [String] = []
            var i = 0
            while i < symbols.count {
                if i + 1 < symbols.count && symbols[i] == first && symbols[i + 1] == second {
                    merged.append(first + second)
                    i += 2
                } else {
                    merged.append(symbols[i])
                    i += 1
                }
            }
            symbols = merged
        }
        return symbols
    }
}
