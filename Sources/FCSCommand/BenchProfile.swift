import FCSTensor

/// `fcs bench models --profile`'s table: one row per kind of operation, one group of columns
/// (calls, seconds, share of the network's time) per profiled network, so the kind that
/// dominates — the next thing to speed up — reads off one line.
func printProfiles(_ profiles: [(network: String, profile: OperationProfile)]) {
    let other = "other (between operations)", total = "whole network call"
    let labelWidth = (OperationProfile.Kind.allCases.map(\.name) + [other, total]).map(\.count).max() ?? 0
    let cellWidth = max(profiles.map(\.network.count).max() ?? 0, 24)
    func cell(calls: String, seconds: Double, of profile: OperationProfile) -> String {
        let share = profile.elapsedSeconds > 0 ? 100 * seconds / profile.elapsedSeconds : 0
        return (calls.leftPadding(6) + format(seconds, 3).leftPadding(9) + (format(share, 1) + " %").leftPadding(9)).padding(cellWidth)
    }
    func row(_ label: String, _ cells: [String]) { print(([label.padding(labelWidth)] + cells).joined(separator: " | ")) }

    print("profile: one more run of each network with every operation's time summed by kind (seconds, share of the run)")
    row("kind", profiles.map { $0.network.padding(cellWidth) })
    row("", profiles.map { _ in ("calls".leftPadding(6) + "seconds".leftPadding(9) + "share".leftPadding(9)).padding(cellWidth) })
    for kind in OperationProfile.Kind.allCases {
        row(kind.name, profiles.map { cell(calls: String($0.profile[kind].calls), seconds: $0.profile[kind].seconds, of: $0.profile) })
    }
    row(other, profiles.map { cell(calls: "", seconds: $0.profile.unattributedSeconds, of: $0.profile) })
    row(total, profiles.map { profile in
        let calls = OperationProfile.Kind.allCases.reduce(0) { $0 + profile.profile[$1].calls }
        return cell(calls: String(calls), seconds: profile.profile.elapsedSeconds, of: profile.profile)
    })
}
