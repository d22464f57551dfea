import FCSTensor

/// The table of `fcs bench models --profile` and `fcs bench sample --profile`: one row per kind
/// of operation, one group of columns (calls, seconds, share of the network's time, GFLOP/s of
/// the GEMM kinds) per profiled network or run, so the kind that dominates — the next thing to
/// speed up — and how far it is from the machine's GEMM rate read off one line.
///
/// - Parameter what: what each column timed, for the header.
func printProfiles(_ profiles: [(network: String, profile: OperationProfile)], of what: String = "one more run of each network") {
    let other = "other (between operations)", total = "whole network call"
    let labelWidth = (OperationProfile.Kind.allCases.map(\.name) + [other, total]).map(\.count).max() ?? 0
    let cellWidth = max(profiles.map(\.network.count).max() ?? 0, 33)
    func cell(calls: String, seconds: Double, flops: Int, of profile: OperationProfile) -> String {
        let share = profile.elapsedSeconds > 0 ? 100 * seconds / profile.elapsedSeconds : 0
        let rate = flops > 0 && seconds > 0 ? format(Double(flops) / seconds / 1e9, 1) : ""
        return (calls.leftPadding(6) + format(seconds, 3).leftPadding(9) + (format(share, 1) + " %").leftPadding(9)
                + rate.leftPadding(9)).padding(cellWidth)
    }
    func row(_ label: String, _ cells: [String]) {
        let line = ([label.padding(labelWidth)] + cells).joined(separator: " | ")
        print(line[..<(line.lastIndex { $0 != " " }.map { line.index(after: $0) } ?? line.startIndex)])  // no trailing blanks
    }

    print("profile: \(what), every operation's time summed by kind (seconds, share of the run;")
    print("GFLOP/s of the GEMM kinds, Winograd's counted as the direct convolution's FLOPs)")
    row("kind", profiles.map { $0.network.padding(cellWidth) })
    row("", profiles.map { _ in ("calls".leftPadding(6) + "seconds".leftPadding(9) + "share".leftPadding(9) + "GFLOP/s".leftPadding(9)).padding(cellWidth) })
    for kind in OperationProfile.Kind.allCases {
        row(kind.name, profiles.map {
            cell(calls: String($0.profile[kind].calls), seconds: $0.profile[kind].seconds, flops: $0.profile[kind].flops, of: $0.profile)
        })
    }
    row(other, profiles.map { cell(calls: "", seconds: $0.profile.unattributedSeconds, flops: 0, of: $0.profile) })
    row(total, profiles.map { profile in
        let kinds = OperationProfile.Kind.allCases
        return cell(calls: String(kinds.reduce(0) { $0 + profile.profile[$1].calls }), seconds: profile.profile.elapsedSeconds,
                    flops: kinds.reduce(0) { $0 + profile.profile[$1].flops }, of: profile.profile)
    })
}
