// Port of diffusers.models.embeddings.TimestepEmbedding (act_fn "silu"): linear_1, SiLU, linear_2.
import FCSTensor

struct TimestepEmbedding: Sendable {
    let linear1, linear2: Linear  // linear_1, linear_2

    init(_ weights: WeightReader, inChannels: Int, timeEmbedDim: Int) throws(FCSError) {
        linear1 = try weights.linear("linear_1", in: inChannels, out: timeEmbedDim)
        linear2 = try weights.linear("linear_2", in: timeEmbedDim, out: timeEmbedDim)
    }

    /// - Parameter sample: `[B, inChannels]` sinusoidal timestep features.
    func callAsFunction(_ sample: Tensor, in arena: ScratchArena) -> Tensor {
        linear2(silu(linear1(sample, in: arena), in: arena), in: arena)
    }
}
