// The outer sampler as a concept of its own (diffusers' SchedulerMixin, as the constrained
// sampler uses it): which timesteps a run visits, how the denoiser's output becomes x̂0 and ε,
// and the step from one noise level to the next, with whatever history a multistep solver keeps.
// The inner Newton loop (ConstrainedSampler) only ever asks for x̂0 at the current x_t; it knows
// nothing about how the outer step is taken.
import FCSTensor

/// What the denoiser predicts (diffusers' `prediction_type`).
public enum PredictionType: String, Sendable {
    /// ε, the noise (SD 1.x, SD 2.x base).
    case epsilon
    /// v = √ᾱ·ε − √(1−ᾱ)·x0 (SD 2.x 768-v).
    case vPrediction = "v_prediction"
}

public protocol Scheduler: Sendable {
    /// β and ᾱ over the training timesteps.
    var schedule: NoiseSchedule { get }
    var predictionType: PredictionType { get }

    /// The timesteps t ∈ 1…1000 a run of `steps` outer steps visits, noisiest first (t is the
    /// training index plus one, the paper's convention: ᾱ_t is `alphasCumprod[t − 1]`).
    func timesteps(steps: Int) -> [Int]

    /// A new run over `timesteps`, holding the state of its outer steps.
    func makeRun(timesteps: [Int]) -> any SchedulerRun
}

/// The outer steps of one sampling run, in order.
public protocol SchedulerRun {
    /// x_{t_next} from x_t and the prediction (x̂0, ε̃) at step `index` (after the inner
    /// corrections); `noise` is the step's fresh z, for the steps that use one.
    mutating func step(index: Int, sample: [Float], x0: [Float], epsilon: [Float], noise: [Float]) -> [Float]

    /// ᾱ of the noise level the step at `index` goes to (what a projection re-noises to).
    func alphaCumprodAfter(index: Int) -> Float
}

extension Scheduler {
    /// x̂0 and ε at timestep t from the denoiser's output, for either prediction type:
    /// ε-prediction x̂0 = (x − √(1−ᾱ)·ε)/√ᾱ, written as x/√ᾱ − ε·√((1−ᾱ)/ᾱ) as the notebooks do;
    /// v-prediction x̂0 = √ᾱ·x − √(1−ᾱ)·v, ε = √ᾱ·v + √(1−ᾱ)·x.
    public func prediction(sample x: [Float], modelOutput output: [Float], timestep t: Int) -> (x0: [Float], epsilon: [Float]) {
        let alpha = schedule.alphasCumprod[t - 1]
        switch predictionType {
        case .epsilon:
            let (a, b) = (1 / alpha.squareRoot(), ((1 - alpha) / alpha).squareRoot())
            return (zip(x, output).map { a * $0 - b * $1 }, output)
        case .vPrediction:
            let (a, b) = (alpha.squareRoot(), (1 - alpha).squareRoot())
            return (zip(x, output).map { a * $0 - b * $1 }, zip(x, output).map { a * $1 + b * $0 })
        }
    }
}
