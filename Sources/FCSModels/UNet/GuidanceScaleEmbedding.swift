// The guidance-scale embedding of LCM-distilled UNets (diffusers' LatentConsistencyModelPipeline.
// get_guidance_scale_embedding, after VDM): the sinusoidal embedding of 1000·w with frequencies
// exp(−log(10000)·i/(d/2 − 1)), sines then cosines — the timestep embedding's formula at
// downscale_freq_shift 1, so it is computed by the same function.
import FCSTensor

/// `[w.count, embeddingDim]`: the embedding of each guidance weight w (diffusers' `guidance_scale − 1`).
public func guidanceScaleEmbedding(_ w: [Float], embeddingDim: Int) -> Tensor {
    timestepEmbedding(w.map { $0 * 1000 }, embeddingDim: embeddingDim, flipSinToCos: false, downscaleFreqShift: 1)
}
