import ArgumentParser

/// The `fcs` command line tool.
@main
struct FCSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fcs",
        abstract: "Fast constrained sampling with Stable Diffusion 1.x and 2.x on the CPU.",
        subcommands: [Inpaint.self, SuperResolve.self, Deblur.self, Colorize.self, ExtractLayers.self, Fetch.self, Bench.self]
    )
}
