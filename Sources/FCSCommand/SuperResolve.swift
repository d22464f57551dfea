import ArgumentParser
import CFCS
import FCS

/// `fcs super-resolve IMAGE --scale 4 -o OUT`
struct SuperResolve: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "super-resolve", abstract: "Upscale IMAGE ×2, ×4 or ×8.")

    @Argument(help: "The low-resolution image.") var image: String
    @Option(help: "Upscaling factor: 2, 4 or 8.") var scale: Int32
    @Option(name: .shortAndLong, help: "Output file; its suffix picks the format.") var output: String
    @OptionGroup var noise: NoiseOption
    @OptionGroup var sampling: SamplingOptions

    func validate() throws {
        guard [2, 4, 8].contains(scale) else { throw ValidationError("--scale must be 2, 4 or 8") }
    }

    func run() throws {
        let input = try ImageFile(image), outputs = try OutputFiles([output])
        try sampling.run(task: "super-resolve", label: "super-resolve ×\(scale)", noisePath: noise.noisePath, outputs: outputs) { model, params in
            var (buffer, result) = (input.image, fcs_image())
            try check(fcsSuperResolve(model, &buffer, scale, &params, &result))
            try outputs.write(&result, like: input)
        }
    }
}
