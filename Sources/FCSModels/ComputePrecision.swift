import FCSTensor

/// The arithmetic a model's convolutions, linear layers and attention run in: the precision
/// setting of every front end (`--precision`, `fcs_model_params.precision`, vips and Python's
/// `precision`). Raw values are the names they all spell.
public enum ComputePrecision: String, CaseIterable, Sendable {
    /// What fcs judges best on this CPU: today always ``float32`` (see ``layerPrecision(weights:)``).
    case automatic = "auto"
    /// float32 products, weights kept as the weights setting says (float32, or float16 widened
    /// inside the GEMM).
    case float32 = "fp32"
    /// bfloat16 products with float32 sums (``WeightPrecision/bfloat16``): about twice the multiply
    /// rate of float32 on CPUs with AVX512_BF16, slower elsewhere; not the default until it
    /// passes `fcs bench precision`'s gate.
    case bfloat16 = "bf16"

    /// The precision layers are built in for this setting and the weights setting `weights` (how
    /// layers keep their weights in float32 compute): every loader builds its layers through this.
    public func layerPrecision(weights: WeightPrecision) -> WeightPrecision {
        switch self {
        // Not bf16 yet: it has not passed `fcs bench precision`'s gate to the letter. The difference
        // tape keeps J·e (cosine 0.9999 with fp32's on the demo model), but the inpainting PSNR is
        // not within 0.1 dB of fp32's: demo model, 14 images, seed 0, bf16 − fp32 = +0.61 (box),
        // −0.11 (free-form), +0.05 / +0.01 / −0.11 dB (fuzzy/ masks 1–3), against a seed-to-seed
        // spread of 0.2–2.4 dB (docs/precision.md). Turning it on: pin fp32 in the parity tests
        // that load with the default, then `WeightPrecision.hasBFloat16Instructions ? .bfloat16 : weights`.
        case .automatic: weights
        case .float32: weights
        case .bfloat16: .bfloat16
        }
    }
}
