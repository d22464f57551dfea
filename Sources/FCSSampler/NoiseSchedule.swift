// The DDPM noise schedule: β over the training timesteps and ᾱ_i = Π_{j≤i}(1 − β_j), computed in
// float64 and kept as float32 as the checkpoints' buffers are. SD 1.x's is "scaled linear", as
// LDM's make_beta_schedule("linear") and diffusers' beta_schedule="scaled_linear" build it
// (β_i = linspace(√0.00085, √0.012, 1000)_i²). Spec §1.
import FCSModels
#if canImport(Glibc)
import Glibc
#endif

/// β and ᾱ over the 1000 training timesteps (index i = 0 … 999).
public struct NoiseSchedule: Sendable {
    public let betas: [Float]
    public let alphasCumprod: [Float]

    public init(trainingSteps: Int = 1000, betaStart: Double = 0.00085, betaEnd: Double = 0.012,
                betaSchedule: SchedulerConfig.BetaSchedule = .scaledLinear) {
        var betas: [Float] = [], alphasCumprod: [Float] = []
        var product = 1.0
        for i in 0..<trainingSteps {
            func linspace(_ start: Double, _ end: Double) -> Double { start + (end - start) * Double(i) / Double(trainingSteps - 1) }
            let beta = switch betaSchedule {
            case .scaledLinear: { $0 * $0 }(linspace(betaStart.squareRoot(), betaEnd.squareRoot()))
            case .linear: linspace(betaStart, betaEnd)
            }
            product *= 1 - beta
            betas.append(Float(beta))
            alphasCumprod.append(Float(product))
        }
        self.betas = betas
        self.alphasCumprod = alphasCumprod
    }

    /// The schedule a model's scheduler config describes.
    public init(_ config: SchedulerConfig) {
        self.init(trainingSteps: config.numTrainTimesteps, betaStart: config.betaStart, betaEnd: config.betaEnd,
                  betaSchedule: config.betaSchedule)
    }
}
