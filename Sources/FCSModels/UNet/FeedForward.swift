// Port of diffusers.models.attention.FeedForward with activation_fn="geglu" (SD 1.x):
// net.0 = GEGLU (a projection to twice the inner width, then hidden * gelu(gate)), net.2 = Linear.
import FCSTensor

struct FeedForward: Sendable {
    let geluProjection: Linear  // net.0.proj
    let output: Linear          // net.2

    init(_ weights: WeightReader, dim: Int, mult: Int = 4) throws(FCSError) {
        geluProjection = try weights.linear("net.0.proj", in: dim, out: dim * mult * 2)
        output = try weights.linear("net.2", in: dim * mult, out: dim)
    }

    /// - Parameters:
    ///   - hiddenStates: `[B, N, dim]`.
    ///   - recordedInput: how a difference tape recomputes `hiddenStates`, if it can.
    func callAsFunction(_ hiddenStates: Tensor, recordedInput: RecordedValue? = nil, in arena: ScratchArena) -> Tensor {
        arena.retaining {
            let projected = geluProjection(hiddenStates, in: arena, recordedInput: recordedInput)
            // gated is GEGLU of the projection's output: a difference tape recomputes it rather than keep it
            let recordedGated = RecordedValue.lastOutput(in: arena)?.map { geglu($0, in: arena) }
            return output(geglu(projected, in: arena), in: arena, recordedInput: recordedGated)  // [B, N, 4 dim] in
        }
    }
}
