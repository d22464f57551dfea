// One outer step of the paper's sampler (spec §2.1, §2.3), shared by ConstrainedSampler and the
// replacement baseline: which ᾱ the step reads, which timestep the UNet sees, and the DDIM-like
// update x_t → x_{t_prev} with a little fresh noise.
import FCSTensor

struct OuterStep {
    /// ᾱ_t, read at the training index t − 1.
    let alpha: Float
    /// ᾱ of the next timestep t_prev (index t_prev − 1), floored at index 1 as the official code
    /// does, so the last step (t_prev = 0) reads ᾱ_1.
    let alphaPrevious: Float
    /// β̃ = β_t (1 − ᾱ_prev) / (1 − ᾱ_t), the variance of the fresh noise.
    let betaTilde: Float
    /// The timestep passed to the UNet: t − 1 (consistent) or t (official).
    let unetTimestep: Float

    /// - Parameter step: the index into `timesteps` (from ``SamplerParameters/timesteps``).
    init(step: Int, timesteps: [Int], schedule: NoiseSchedule, convention: SamplerParameters.TimestepConvention) {
        let t = timesteps[step], next = step + 1 < timesteps.count ? timesteps[step + 1] : 0
        alpha = schedule.alphasCumprod[t - 1]
        alphaPrevious = schedule.alphasCumprod[max(next - 1, 1)]
        betaTilde = schedule.betas[t - 1] * (1 - alphaPrevious) / (1 - alpha)
        unetTimestep = Float(convention == .consistent ? t - 1 : t)
    }

    /// x̂0 = x/√ᾱ − ε·√((1−ᾱ)/ᾱ), written into `x0`.
    func predictClean(_ x: [Float], epsilon: [Float], into x0: inout [Float]) {
        let (a, b) = (1 / alpha.squareRoot(), ((1 - alpha) / alpha).squareRoot())
        for i in x.indices { x0[i] = a * x[i] - b * epsilon[i] }
    }

    /// The coefficients of x_{t_prev} = c_x0·x̂0 + c_ε·ε̃ + c_z·z.
    var updateCoefficients: (x0: Float, epsilon: Float, noise: Float) {
        (alphaPrevious.squareRoot(), max(0, 1 - alphaPrevious - betaTilde).squareRoot(), betaTilde.squareRoot())
    }
}
