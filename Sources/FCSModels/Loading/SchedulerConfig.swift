import FCSTensor

/// The fields of a diffusers `scheduler/scheduler_config.json` that describe the diffusion
/// process itself (not the sampler), which fcs's sampler does not read but assumes: SD 1.x's ε
/// prediction over 1000 "scaled linear" steps from β = 0.00085 to 0.012. A folder whose
/// scheduler says otherwise (a v-prediction model, another β schedule) is refused, because fcs
/// would sample it wrongly without a sign.
struct SchedulerConfig: ValidatedConfig, Equatable {
    var numTrainTimesteps = 1000
    var betaStart: Float = 0.00085
    var betaEnd: Float = 0.012
    var betaSchedule = "scaled_linear"
    var predictionType = "epsilon"
    var hasTrainedBetas = false

    init() {}

    enum CodingKeys: String, CodingKey {
        case numTrainTimesteps = "num_train_timesteps", betaStart = "beta_start", betaEnd = "beta_end"
        case betaSchedule = "beta_schedule", predictionType = "prediction_type", trainedBetas = "trained_betas"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SchedulerConfig()
        numTrainTimesteps = try c.integer(.numTrainTimesteps) ?? d.numTrainTimesteps
        betaStart = try c.float(.betaStart) ?? d.betaStart
        betaEnd = try c.float(.betaEnd) ?? d.betaEnd
        betaSchedule = try c.decodeIfPresent(String.self, forKey: .betaSchedule) ?? d.betaSchedule
        predictionType = try c.decodeIfPresent(String.self, forKey: .predictionType) ?? d.predictionType
        hasTrainedBetas = c.contains(.trainedBetas) && (try? c.decodeNil(forKey: .trainedBetas)) != true
    }

    func validate(source: String) throws(FCSError) {
        let check = ConfigCheck(source: source), sd = SchedulerConfig()
        try check.known(predictionType, "prediction_type", [sd.predictionType])
        try check.known(betaSchedule, "beta_schedule", [sd.betaSchedule])
        try check.known(numTrainTimesteps, "num_train_timesteps", [sd.numTrainTimesteps])
        try check.known(betaStart, "beta_start", [sd.betaStart])
        try check.known(betaEnd, "beta_end", [sd.betaEnd])
        guard !hasTrainedBetas else { throw check.failure("trained_betas", "is set; fcs supports only null (betas from beta_start and beta_end)") }
    }

    /// Checks the folder's `scheduler/scheduler_config.json`, if it has one.
    static func validate(folder: String) throws(FCSError) {
        let path = folder + "/scheduler/scheduler_config.json"
        guard fileKind(path) != .missing else { return }
        let _: SchedulerConfig = try decodeConfig(path)
    }
}
