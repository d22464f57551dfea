#if canImport(Glibc)
import Glibc
#endif

/// diffusers' `get_timestep_embedding`: sinusoidal embeddings of (possibly fractional)
/// timesteps, `[T] → [T, embeddingDim]`, computed in float32 step by step as PyTorch does, so
/// the result matches bit for bit up to libm rounding.
///
/// `exponent_i = -ln(maxPeriod) · i / (half - downscaleFreqShift)`, `emb = t · e^exponent · scale`,
/// `[sin(emb), cos(emb)]` (or `[cos, sin]` when `flipSinToCos`), zero-padded when the dimension is odd.
public func timestepEmbedding(
    _ timesteps: [Float], embeddingDim: Int, flipSinToCos: Bool = false,
    downscaleFreqShift: Float = 1, scale: Float = 1, maxPeriod: Float = 10000
) -> Tensor {
    let half = embeddingDim / 2
    let logPeriod = Float(-log(Double(maxPeriod)))
    let frequencies = (0..<half).map { i in expf(Float(i) * logPeriod / (Float(half) - downscaleFreqShift)) }
    let out = Tensor(zeros: [timesteps.count, embeddingDim])
    for (row, t) in timesteps.enumerated() {
        let base = out.data + row * embeddingDim
        for i in 0..<half {
            let argument = scale * (t * frequencies[i])
            let (sine, cosine) = (sinf(argument), cosf(argument))
            base[i] = flipSinToCos ? cosine : sine
            base[half + i] = flipSinToCos ? sine : cosine
        }
    }
    return out
}
