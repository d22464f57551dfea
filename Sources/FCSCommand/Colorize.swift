import ArgumentParser
import CFCS
import FCS

/// `fcs colorize IMAGE -o OUT`
struct Colorize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Colour a grey IMAGE (a colour image's luminance is used); the result keeps its luminance."
    )

    @Argument(help: "The grey image.") var image: String
    @Option(name: .shortAndLong, help: "Output file (colour); its suffix picks the format.") var output: String
    @OptionGroup var noise: NoiseOption
    @OptionGroup var sampling: SamplingOptions

    func run() throws {
        let input = try ImageFile(image), outputs = try OutputFiles([output])
        try sampling.run(task: "colorize", noisePath: noise.noisePath, outputs: outputs) { model, params in
            var constraint = fcsConstraintDefault()
            constraint.kind = FCS_CONSTRAINT_LUMINANCE
            var (buffer, result) = (input.image, fcs_image())
            try check(fcsSolve(model, &buffer, &constraint, &params, &result))
            try outputs.write(&result, like: input)
        }
    }
}
