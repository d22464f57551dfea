// What a denoiser is conditioned on, as one value. SD 1.x and 2.x condition on the text
// encoder's states alone; SDXL's UNet also takes a pooled text embedding and extra time inputs
// (diffusers' `added_cond_kwargs`: `text_embeds`, `time_ids`), which travel in the same value, so
// that classifier-free guidance forms its batch of two from all of them in one place and a new
// model is a new conformance (a prompt encoder, a denoiser), not a change to the sampler.
import FCSTensor

public struct Conditioning: Sendable {
    /// The text encoder's states, `[B, tokens, d]` (diffusers' `encoder_hidden_states`).
    public var textStates: Tensor
    /// A pooled text embedding, `[B, d′]` (SDXL's `text_embeds`); nil for SD 1.x / 2.x.
    public var pooledEmbedding: Tensor?
    /// Extra inputs of the time embedding, `[B, n]` (SDXL's `time_ids`); nil for SD 1.x / 2.x.
    public var timeInputs: Tensor?

    public init(textStates: Tensor, pooledEmbedding: Tensor? = nil, timeInputs: Tensor? = nil) {
        (self.textStates, self.pooledEmbedding, self.timeInputs) = (textStates, pooledEmbedding, timeInputs)
    }

    /// Classifier-free guidance's batch: `unconditional`'s rows, then these (diffusers'
    /// `torch.cat([negative, positive])`), in `arena`. A part only one side has is dropped
    /// (both come from the same prompt encoder, so either both have it or neither).
    public func guidanceBatch(unconditional: Conditioning, in arena: ScratchArena) -> Conditioning {
        func batch(_ a: Tensor?, _ b: Tensor?) -> Tensor? {
            guard let a, let b else { return nil }
            return concatenatingBatches(a, b, in: arena)
        }
        return Conditioning(textStates: concatenatingBatches(unconditional.textStates, textStates, in: arena),
                            pooledEmbedding: batch(unconditional.pooledEmbedding, pooledEmbedding),
                            timeInputs: batch(unconditional.timeInputs, timeInputs))
    }
}

/// `a`'s rows then `b`'s along the first axis (the other axes must agree).
private func concatenatingBatches(_ a: Tensor, _ b: Tensor, in arena: ScratchArena) -> Tensor {
    precondition(Array(a.shape.dropFirst()) == Array(b.shape.dropFirst()), "batches \(a.shape) and \(b.shape) do not stack")
    let out = arena.tensor([a.shape[0] + b.shape[0]] + a.shape.dropFirst())
    out.data.update(from: a.data, count: a.count)
    (out.data + a.count).update(from: b.data, count: b.count)
    return out
}
