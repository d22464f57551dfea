// The prompt encoder a text-conditioned model holds, behind a protocol: the tasks ask it for the
// ``Conditioning`` of a prompt (and of "" for guidance) and never see tokenizers or text towers,
// so a model with other encoders (SDXL's two CLIP towers and pooled embedding) is a new conformance.
import FCSModels
import FCSTensor

public protocol PromptEncoder: Sendable {
    /// The conditioning of each prompt, as separate calls would give it (an encoder built once
    /// for all of them).
    /// - Throws: what the encoder meets (a text encoder whose weights cannot be read again).
    func encode(_ prompts: [String], in arena: ScratchArena) throws(FCSError) -> [Conditioning]
}

/// SD 1.x's and 2.x's prompt encoder: CLIP's tokenizer (77 tokens, padded) and text encoder,
/// conditioning on `last_hidden_state` alone.
public struct CLIPPromptEncoder: PromptEncoder {
    public let tokenizer: CLIPTokenizer
    public let textEncoder: TextEncoder

    public init(tokenizer: CLIPTokenizer, textEncoder: TextEncoder) {
        (self.tokenizer, self.textEncoder) = (tokenizer, textEncoder)
    }

    public func encode(_ prompts: [String], in arena: ScratchArena) throws(FCSError) -> [Conditioning] {
        try textEncoder.encode(prompts.map { [tokenizer($0)] }, in: arena).map { Conditioning(textStates: $0) }
    }
}
