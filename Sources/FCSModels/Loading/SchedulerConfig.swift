import FCSTensor

/// The fields of a diffusers `scheduler/scheduler_config.json` that fcs's outer samplers read:
/// the diffusion process (the β schedule, what the UNet predicts) and, for the samplers that
/// space their own timesteps, the spacing settings a diffusers scheduler built with `from_config`
/// would take. A folder without the file gets SD 1.x's values. Values fcs cannot implement are
/// refused, naming the field, because sampling with another process would be wrong without a sign.
public struct SchedulerConfig: ValidatedConfig, Equatable, Sendable {
    /// The β schedules diffusers' DDPM-family schedulers build (`beta_schedule`).
    public enum BetaSchedule: String, Sendable {
        /// β = linspace(beta_start, beta_end)
        case linear
        /// β = linspace(√beta_start, √beta_end)², SD 1.x's.
        case scaledLinear = "scaled_linear"
    }

    public var numTrainTimesteps = 1000
    public var betaStart = 0.00085
    public var betaEnd = 0.012
    public var betaSchedule = BetaSchedule.scaledLinear
    /// `epsilon` or `v_prediction` (read by the sampler as `PredictionType`).
    public var predictionType = "epsilon"
    /// "linspace", "leading" or "trailing": how DPMSolverMultistepScheduler spaces timesteps;
    /// absent, its default "linspace" (what `from_config` gives for SD 1.5's PNDM config).
    public var timestepSpacing = "linspace"
    /// Added to "leading" timesteps (SD 1.5's config has 1).
    public var stepsOffset = 0
    /// DPMSolverMultistepScheduler: a first-order last step (and a second-order second-to-last
    /// for runs under 15 steps).
    public var lowerOrderFinal = true
    /// DPMSolverMultistepScheduler: "zero" (the last step goes to σ = 0) or "sigma_min".
    public var finalSigmasType = "zero"
    /// LCMScheduler: the distillation's step count, whose timesteps a run picks from.
    public var originalInferenceSteps = 50
    /// LCMScheduler: t's factor in the consistency boundary conditions c_skip and c_out.
    public var timestepScaling = 10.0
    var betaScheduleName = "scaled_linear"
    var hasTrainedBetas = false, rescalesToZeroSNR = false

    public init() {}

    enum CodingKeys: String, CodingKey {
        case numTrainTimesteps = "num_train_timesteps", betaStart = "beta_start", betaEnd = "beta_end"
        case betaSchedule = "beta_schedule", predictionType = "prediction_type", trainedBetas = "trained_betas"
        case timestepSpacing = "timestep_spacing", stepsOffset = "steps_offset", lowerOrderFinal = "lower_order_final"
        case finalSigmasType = "final_sigmas_type", originalInferenceSteps = "original_inference_steps"
        case timestepScaling = "timestep_scaling", rescaleBetasZeroSNR = "rescale_betas_zero_snr"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SchedulerConfig()
        numTrainTimesteps = try c.integer(.numTrainTimesteps) ?? d.numTrainTimesteps
        betaStart = try c.double(.betaStart) ?? d.betaStart
        betaEnd = try c.double(.betaEnd) ?? d.betaEnd
        betaScheduleName = try c.decodeIfPresent(String.self, forKey: .betaSchedule) ?? d.betaScheduleName
        betaSchedule = BetaSchedule(rawValue: betaScheduleName) ?? d.betaSchedule  // unknown names are refused in validate
        predictionType = try c.decodeIfPresent(String.self, forKey: .predictionType) ?? d.predictionType
        timestepSpacing = try c.decodeIfPresent(String.self, forKey: .timestepSpacing) ?? d.timestepSpacing
        stepsOffset = try c.integer(.stepsOffset) ?? d.stepsOffset
        lowerOrderFinal = try c.decodeIfPresent(Bool.self, forKey: .lowerOrderFinal) ?? d.lowerOrderFinal
        finalSigmasType = try c.decodeIfPresent(String.self, forKey: .finalSigmasType) ?? d.finalSigmasType
        originalInferenceSteps = try c.integer(.originalInferenceSteps) ?? d.originalInferenceSteps
        timestepScaling = try c.double(.timestepScaling) ?? d.timestepScaling
        hasTrainedBetas = c.contains(.trainedBetas) && (try? c.decodeNil(forKey: .trainedBetas)) != true
        rescalesToZeroSNR = try c.decodeIfPresent(Bool.self, forKey: .rescaleBetasZeroSNR) ?? false
    }

    func validate(source: String) throws(FCSError) {
        let check = ConfigCheck(source: source)
        try check.known(predictionType, "prediction_type", ["epsilon", "v_prediction"])
        try check.known(betaScheduleName, "beta_schedule", ["linear", "scaled_linear"])
        // t runs over 1 … 1000 in the samplers (the paper's timesteps 1000, 950, …)
        try check.known(numTrainTimesteps, "num_train_timesteps", [1000])
        for (value, field) in [(betaStart, "beta_start"), (betaEnd, "beta_end")] where !(value.isFinite && value > 0 && value < 1) {
            throw check.failure(field, "is \(value); it must be a number between 0 and 1")
        }
        guard betaStart <= betaEnd else { throw check.failure("beta_end", "is \(betaEnd), below beta_start = \(betaStart)") }
        guard !hasTrainedBetas else { throw check.failure("trained_betas", "is set; fcs supports only null (betas from beta_start and beta_end)") }
        guard !rescalesToZeroSNR else { throw check.failure("rescale_betas_zero_snr", "is true; fcs supports only false") }
        try check.known(timestepSpacing, "timestep_spacing", ["linspace", "leading", "trailing"])
        guard (0..<numTrainTimesteps).contains(stepsOffset) else {
            throw check.failure("steps_offset", "is \(stepsOffset); it must be 0 … \(numTrainTimesteps - 1)")
        }
        try check.known(finalSigmasType, "final_sigmas_type", ["zero", "sigma_min"])
        guard (1...numTrainTimesteps).contains(originalInferenceSteps) else {
            throw check.failure("original_inference_steps", "is \(originalInferenceSteps); it must be 1 … \(numTrainTimesteps)")
        }
        guard timestepScaling.isFinite, timestepScaling > 0 else {
            throw check.failure("timestep_scaling", "is \(timestepScaling); it must be a finite number above 0")
        }
    }

    /// The folder's `scheduler/scheduler_config.json`, or SD 1.x's values if it has none.
    public static func read(folder: String) throws(FCSError) -> SchedulerConfig {
        let path = folder + "/scheduler/scheduler_config.json"
        guard fileKind(path) != .missing else { return SchedulerConfig() }
        return try decodeConfig(path)
    }
}
