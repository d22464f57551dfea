// Port of diffusers.models.embeddings.TimestepEmbedding (act_fn "silu"): linear_1, SiLU, linear_2,
// with the optional `cond_proj` (no bias) that adds a condition to the input first (LCM UNets'
// guidance-scale embedding, `time_cond_proj_dim`).
import FCSTensor

struct TimestepEmbedding: Sendable {
    let linear1, linear2: Linear  // linear_1, linear_2
    let condProj: Linear?         // cond_proj

    init(_ weights: WeightReader, inChannels: Int, timeEmbedDim: Int, condProjDim: Int? = nil) throws(FCSError) {
        linear1 = try weights.linear("linear_1", in: inChannels, out: timeEmbedDim)
        linear2 = try weights.linear("linear_2", in: timeEmbedDim, out: timeEmbedDim)
        condProj = try condProjDim.map { (dim: Int) throws(FCSError) in try weights.linear("cond_proj", in: dim, out: inChannels, bias: false) }
    }

    /// - Parameters:
    ///   - sample: `[B, inChannels]` sinusoidal timestep features.
    ///   - condition: `[B, condProjDim]`, added through `cond_proj`; nil adds nothing, as in diffusers.
    func callAsFunction(_ sample: Tensor, condition: Tensor? = nil, in arena: ScratchArena) -> Tensor {
        var input = sample
        if let condition, let condProj { input = add(sample, condProj(condition, in: arena), in: arena) }
        return linear2(silu(linear1(input, in: arena), in: arena), in: arena)
    }
}
