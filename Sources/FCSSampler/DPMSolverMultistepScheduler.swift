// DPM-Solver++(2M) (Lu et al., arXiv 2211.01095), as diffusers' DPMSolverMultistepScheduler runs
// it with algorithm_type="dpmsolver++", solver_order=2, solver_type="midpoint": a deterministic
// multistep solver in the data-prediction (x̂0) form over λ = log(α/σ),
//   first order:  x_t = (σ_t/σ_s)·x_s − α_t(e^{−h} − 1)·D0,
//   second order: x_t = (σ_t/σ_s0)·x_s − α_t(e^{−h} − 1)·(D0 + D1/2),  D0 = m0, D1 = (m0 − m1)/r0,
// with h = λ_t − λ_s0, r0 = (λ_s0 − λ_s1)/h and m0, m1 the current and previous x̂0. Here x̂0 is
// the prediction after the inner Newton corrections, at the corrected x_s: the corrections move
// x_s before each step, as the paper's notebooks do with PNDM. Coefficients in float64.
import FCSModels
import FCSTensor
#if canImport(Glibc)
import Glibc
#endif

public struct DPMSolverMultistepScheduler: Scheduler {
    public let schedule: NoiseSchedule
    public let predictionType: PredictionType
    /// "linspace", "leading" or "trailing" (diffusers' `timestep_spacing`).
    public let timestepSpacing: String
    public let stepsOffset: Int
    /// A first-order last step for runs under 15 steps (always with `finalSigmaIsZero`).
    public let lowerOrderFinal: Bool
    /// The last step goes to σ = 0 (diffusers' `final_sigmas_type="zero"`), else to σ of t = 0.
    public let finalSigmaIsZero: Bool

    public init(schedule: NoiseSchedule = NoiseSchedule(), predictionType: PredictionType = .epsilon, timestepSpacing: String = "linspace",
                stepsOffset: Int = 0, lowerOrderFinal: Bool = true, finalSigmaIsZero: Bool = true) {
        (self.schedule, self.predictionType, self.timestepSpacing) = (schedule, predictionType, timestepSpacing)
        (self.stepsOffset, self.lowerOrderFinal, self.finalSigmaIsZero) = (stepsOffset, lowerOrderFinal, finalSigmaIsZero)
    }

    /// The scheduler diffusers' `DPMSolverMultistepScheduler.from_config` builds from a model's config.
    public init(_ config: SchedulerConfig) throws(FCSError) {
        self.init(schedule: NoiseSchedule(config), predictionType: try PredictionType(config), timestepSpacing: config.timestepSpacing,
                  stepsOffset: config.stepsOffset, lowerOrderFinal: config.lowerOrderFinal, finalSigmaIsZero: config.finalSigmasType == "zero")
    }

    /// diffusers' `set_timesteps(steps)` (training indices, here plus one).
    public func timesteps(steps n: Int) throws(FCSError) -> [Int] {
        let trainSteps = schedule.alphasCumprod.count
        guard n >= 1, n <= trainSteps else { throw .invalidArgument("DPM-Solver++ takes 1 … \(trainSteps) steps, not \(n)") }
        let indices: [Int] = switch timestepSpacing {
        case "leading":  // arange(0, n + 1) · (T // (n + 1)), reversed, the last dropped, plus steps_offset
            (1...n).reversed().map { $0 * (trainSteps / (n + 1)) + stepsOffset }
        case "trailing":  // round(arange(T, 0, −T/n)) − 1 (numpy's arange has n + 1 values for some n, e.g. 61, the last −1: fcs takes n)
            (0..<n).map { Int((Double(trainSteps) - Double($0) * (Double(trainSteps) / Double(n))).rounded(.toNearestOrEven)) - 1 }
        default:  // "linspace": round(linspace(0, T − 1, n + 1)), reversed, the last dropped (numpy: k·step, the end exact)
            (1...n).reversed().map { $0 == n ? trainSteps - 1 : Int((Double($0) * (Double(trainSteps - 1) / Double(n))).rounded(.toNearestOrEven)) }
        }
        return indices.map { min($0, trainSteps - 1) + 1 }
    }

    public func makeRun(timesteps: [Int]) -> any SchedulerRun {
        // σ = √((1 − ᾱ)/ᾱ) at each timestep, then the final σ
        let sigma = { (alpha: Float) in Double(((1 - alpha) / alpha).squareRoot()) }
        let sigmas = timesteps.map { sigma(schedule.alphasCumprod[$0 - 1]) } + [finalSigmaIsZero ? 0 : sigma(schedule.alphasCumprod[0])]
        return Run(sigmas: sigmas, firstOrderLast: finalSigmaIsZero || (lowerOrderFinal && timesteps.count < 15))
    }

    struct Run: SchedulerRun {
        let sigmas: [Double]
        let firstOrderLast: Bool
        /// m1: the previous step's x̂0.
        var previousX0: [Float]?

        init(sigmas: [Double], firstOrderLast: Bool) { (self.sigmas, self.firstOrderLast) = (sigmas, firstOrderLast) }

        /// α_t, σ_t and λ_t of the `i`-th σ (diffusers' `_sigma_to_alpha_sigma_t`).
        private func level(_ i: Int) -> (alpha: Double, sigma: Double, lambda: Double) {
            let alpha = 1 / (sigmas[i] * sigmas[i] + 1).squareRoot(), sigma = sigmas[i] * alpha
            return (alpha, sigma, log(alpha) - log(sigma))
        }

        func alphaCumprodAfter(index: Int) -> Float { Float(1 / (sigmas[index + 1] * sigmas[index + 1] + 1)) }

        mutating func step(index i: Int, sample x: [Float], x0: [Float], epsilon: [Float], noise: [Float]) -> [Float] {
            defer { previousX0 = x0 }
            let (t, s0) = (level(i + 1), level(i))
            let h = t.lambda - s0.lambda, decay = t.alpha * (exp(-h) - 1)
            let sampleFactor = Float(t.sigma / s0.sigma)  // σ_t = 0 at the end: 0·x, even where h = ∞
            guard let m1 = previousX0, i > 0, !(firstOrderLast && i == sigmas.count - 2) else {
                let d0 = Float(-decay)
                return (0..<x.count).map { sampleFactor * x[$0] + d0 * x0[$0] }
            }
            let r0 = (s0.lambda - level(i - 1).lambda) / h
            let (d0, d1) = (Float(-decay), Float(-0.5 * decay / r0))
            return (0..<x.count).map { sampleFactor * x[$0] + d0 * x0[$0] + d1 * (x0[$0] - m1[$0]) }
        }
    }
}

extension PredictionType {
    /// A scheduler config's `prediction_type`.
    public init(_ config: SchedulerConfig) throws(FCSError) {
        guard let type = PredictionType(rawValue: config.predictionType) else {
            throw .format("scheduler config: prediction_type \"\(config.predictionType)\" is not one fcs implements")
        }
        self = type
    }
}
