import FCSTensor

/// The arithmetic a model's convolutions, linear layers and attention run in: the precision
/// setting of every front end (`--precision`, `fcs_model_params.precision`, vips and Python's
/// `precision`). Raw values are the names they all spell.
public enum ComputePrecision: String, CaseIterable, Sendable {
    /// What fcs judges best on this CPU: ``bfloat16`` where the micro-kernels in use have
    /// AVX512_BF16, ``float32`` elsewhere (see ``layerPrecision(weights:)``).
    case automatic = "auto"
    /// float32 products, weights kept as the weights setting says (float32, or float16 widened
    /// inside the GEMM).
    case float32 = "fp32"
    /// bfloat16 products with float32 sums (``WeightPrecision/bfloat16``): about twice the multiply
    /// rate of float32 on CPUs with AVX512_BF16, slower elsewhere (a portable loop).
    case bfloat16 = "bf16"

    /// The precision layers are built in for this setting and the weights setting `weights` (how
    /// layers keep their weights in float32 compute): every loader builds its layers through this.
    public func layerPrecision(weights: WeightPrecision) -> WeightPrecision {
        switch self {
        // bf16 where it is fast, since it passed `fcs bench precision`'s gate: UNet ε within 0.0022
        // of fp32's, J·e cosine 0.9999 with the difference tape, and no table of the quality
        // benchmark's inpainting more than 0.1 dB below fp32's (box +0.38 and free-form +0.18 dB
        // over 2 seeds; the single fuzzy/ image's masks +0.02 / +0.03 / +0.37 over 8; docs/precision.md).
        case .automatic: WeightPrecision.hasBFloat16Instructions ? .bfloat16 : weights
        case .float32: weights
        case .bfloat16: .bfloat16
        }
    }
}
