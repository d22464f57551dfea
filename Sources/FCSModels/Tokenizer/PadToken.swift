// The pad token of a tokenizer folder, found where transformers finds it: SD 1.x's files name
// `<|endoftext|>`, SD 2.x's `!` (id 0), and padding with the wrong one changes every prompt's
// text states after its last word.
import FCSTensor

/// Reads a diffusers `tokenizer/` folder's pad token.
public enum PadToken {
    /// The `pad_token` of `special_tokens_map.json` or `tokenizer_config.json`, as transformers 5's
    /// `from_pretrained` resolves it: a `tokenizer_config.json` with `added_tokens_decoder` is the
    /// whole truth; otherwise `special_tokens_map.json`'s entry overrides it. Either file may
    /// give the token as a string or as an `AddedToken` object (`{"content": …}`); with neither
    /// file or no entry, `<|endoftext|>` (CLIPTokenizer's default).
    /// - Throws: `.io` for a file that exists but cannot be read, `.format` naming the file for
    ///   one that is not JSON or whose `pad_token` is neither form.
    public static func read(folder: String) throws(FCSError) -> String {
        let configPath = folder + "/tokenizer_config.json", mapPath = folder + "/special_tokens_map.json"
        let config = try entries(configPath)
        if config?.hasAddedTokensDecoder != true, let mapped = try entries(mapPath)?.padToken { return mapped }
        return config?.padToken ?? CLIPTokenizer.endOfText
    }

    /// The two fields fcs reads of a tokenizer JSON file.
    private struct Entries: Decodable {
        var padToken: String?
        var hasAddedTokensDecoder = false

        enum CodingKeys: String, CodingKey { case padToken = "pad_token", addedTokensDecoder = "added_tokens_decoder" }
        struct AddedToken: Decodable { var content: String }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            hasAddedTokensDecoder = c.contains(.addedTokensDecoder)
            guard c.contains(.padToken), try !c.decodeNil(forKey: .padToken) else { return }
            padToken = if let text = try? c.decode(String.self, forKey: .padToken) { text }
                       else { try c.decode(AddedToken.self, forKey: .padToken).content }
        }
    }

    private static func entries(_ path: String) throws(FCSError) -> Entries? {
        guard fileKind(path) != .missing else { return nil }
        return try decodeJSONFile(Entries.self, path: path)
    }
}
