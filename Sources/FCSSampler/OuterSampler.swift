// Which outer sampler a request runs (C's fcs_sampler, the CLI's --sampler, vips' and Python's
// `sampler`): the paper's DDIM-like step by default, or one of diffusers' few-step schedulers.
import FCSModels
import FCSTensor

public enum OuterSampler: String, Sendable, CaseIterable {
    /// The paper's DDIM-like step (``PaperDDIMScheduler``).
    case paper
    /// DPM-Solver++(2M) (``DPMSolverMultistepScheduler``).
    case dpmSolverPlusPlus2M = "dpm++2m"
    /// Latent consistency models' multistep sampling (``LCMScheduler``), for LCM checkpoints.
    case lcm

    /// The scheduler for a model trained on `config`'s diffusion process.
    public func scheduler(_ config: SchedulerConfig) throws(FCSError) -> any Scheduler {
        switch self {
        case .paper: PaperDDIMScheduler(schedule: NoiseSchedule(config), predictionType: try PredictionType(config))
        case .dpmSolverPlusPlus2M: try DPMSolverMultistepScheduler(config)
        case .lcm: try LCMScheduler(config)
        }
    }
}
