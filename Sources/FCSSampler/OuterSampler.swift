// Which outer sampler a request runs (C's fcs_sampler, the CLI's --sampler, vips' and Python's
// `sampler`): the paper's DDIM-like step by default, or one of diffusers' few-step schedulers.
import CFCS
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

extension OuterSampler {
    /// This sampler's C fcs_sampler value.
    public var cValue: fcs_sampler {
        switch self {
        case .paper: FCS_SAMPLER_PAPER
        case .dpmSolverPlusPlus2M: FCS_SAMPLER_DPMSOLVER_PP_2M
        case .lcm: FCS_SAMPLER_LCM
        }
    }

    /// The sampler of a C fcs_sampler value; nil for a value that is none.
    public init?(_ value: fcs_sampler) {
        guard let match = Self.allCases.first(where: { $0.cValue == value }) else { return nil }
        self = match
    }

    /// The header's FCS_DEFAULT_SAMPLER (a valid value: FCSSamplerTests checks it).
    static let headerDefault = OuterSampler(fcs_sampler(rawValue: UInt32(FCS_DEFAULT_SAMPLER)))!
}
