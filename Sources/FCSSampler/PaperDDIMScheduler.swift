// The paper's outer step (spec §2.1–§2.3; the official notebooks): timesteps 1000, 950, …, 50 for
// 20 steps, and a DDIM-like update with a little fresh noise,
//   x_{t_prev} = √ᾱ'·x̂0 + √(1 − ᾱ' − β̃)·ε̃ + √β̃·z,   β̃ = β_t (1 − ᾱ') / (1 − ᾱ_t).
import FCSTensor

public struct PaperDDIMScheduler: Scheduler {
    public let schedule: NoiseSchedule
    public let predictionType: PredictionType

    public init(schedule: NoiseSchedule = NoiseSchedule(), predictionType: PredictionType = .epsilon) {
        self.schedule = schedule
        self.predictionType = predictionType
    }

    /// round(1000 − i·1000/steps) for i = 0 … steps − 1: evenly spaced from 1000 down to about
    /// 1000/steps — diffusers' "trailing" spacing, so that every step count ends near the clean
    /// end (3 steps: 1000, 667, 333). For steps dividing 1000 this is the official
    /// `range(1000, 0, -1000/steps)` (1000, 950, …, 50 for 20).
    public func timesteps(steps: Int) -> [Int] {
        let n = Double(max(steps, 1))
        return (0..<max(steps, 1)).map { Int((1000 - Double($0) * 1000 / n).rounded(.toNearestOrEven)) }
    }

    public func makeRun(timesteps: [Int]) -> any SchedulerRun { Run(schedule: schedule, timesteps: timesteps) }

    struct Run: SchedulerRun {
        let schedule: NoiseSchedule
        let timesteps: [Int]

        /// ᾱ of the next timestep (index t_next − 1), floored at index 1 as the official code
        /// does, so the last step (t_next = 0) reads ᾱ_1.
        func alphaCumprodAfter(index: Int) -> Float {
            let next = index + 1 < timesteps.count ? timesteps[index + 1] : 0
            return schedule.alphasCumprod[max(next - 1, 1)]
        }

        func step(index: Int, sample: [Float], x0: [Float], epsilon: [Float], noise z: [Float]) -> [Float] {
            let t = timesteps[index]
            let alpha = schedule.alphasCumprod[t - 1], alphaPrevious = alphaCumprodAfter(index: index)
            let betaTilde = schedule.betas[t - 1] * (1 - alphaPrevious) / (1 - alpha)
            let (cx0, ceps, cz) = (alphaPrevious.squareRoot(), max(0, 1 - alphaPrevious - betaTilde).squareRoot(), betaTilde.squareRoot())
            return (0..<x0.count).map { cx0 * x0[$0] + ceps * epsilon[$0] + cz * z[$0] }
        }
    }
}
