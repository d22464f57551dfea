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

    /// - Parameter hiddenStates: `[B, N, dim]`.
    func callAsFunction(_ hiddenStates: Tensor, in arena: ScratchArena) -> Tensor {
        arena.retaining {
            let gated = geglu(geluProjection(hiddenStates, in: arena), in: arena)  // [B, N, 4 dim]
            // gated is GEGLU of the projection's output: a difference tape recomputes it rather than keep it
            return output(gated, in: arena, inputFromPreviousOutput: { geglu($0, in: arena) })
        }
    }
}
