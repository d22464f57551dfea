// Stable Diffusion 1.x's DDPM noise schedule: "scaled linear" betas, as LDM's
// make_beta_schedule("linear") and diffusers' beta_schedule="scaled_linear" build it
// (β_i = linspace(√0.00085, √0.012, 1000)_i², ᾱ_i = Π_{j≤i}(1 − β_j), computed in float64,
// kept as float32 as the checkpoints' buffers are). Spec §1.
#if canImport(Glibc)
import Glibc
#endif

/// β and ᾱ over the 1000 training timesteps (index i = 0 … 999).
public struct NoiseSchedule: Sendable {
    public let betas: [Float]
    public let alphasCumprod: [Float]

    public init(trainingSteps: Int = 1000, betaStart: Double = 0.00085, betaEnd: Double = 0.012) {
        var betas: [Float] = [], alphasCumprod: [Float] = []
        var product = 1.0
        for i in 0..<trainingSteps {
            let root = betaStart.squareRoot() + (betaEnd.squareRoot() - betaStart.squareRoot()) * Double(i) / Double(trainingSteps - 1)
            let beta = root * root
            product *= 1 - beta
            betas.append(Float(beta))
            alphasCumprod.append(Float(product))
        }
        self.betas = betas
        self.alphasCumprod = alphasCumprod
    }
}
