import ArgumentParser
import CFCS
import FCS

/// `fcs layers IMAGE -o PREFIX`
struct Layers: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Split IMAGE into two layers and a soft mask: PREFIX-layer1, PREFIX-layer2, PREFIX-mask.",
        discussion: "fcs's reconstruction of the v1 paper's EM procedure (see the README)."
    )

    @Argument(help: "The image to split.") var image: String
    @Option(name: .shortAndLong, help: "Output prefix; files get the suffix of --format.") var output: String
    @Option(help: "Output file suffix.") var format = "png"
    @Option(help: "A mask whose white pixels start as layer 1 (default: random blocks).") var hint: String?
    @Option(help: "EM iterations.") var iterations: Int32 = 3
    @Option(help: "Samples per layer and iteration.") var samples: Int32 = 3
    @Option(help: "Random starts; the best is kept.") var restarts: Int32 = 2
    @OptionGroup var sampling: SamplingOptions

    func run() throws {
        let input = try ImageFile(image), hintFile = try hint.map(ImageFile.init)
        let outputs = try OutputFiles(["layer1", "layer2", "mask"].map { "\(output)-\($0).\(format)" })
        let defaults = fcsLayerParamsDefault()
        try sampling.run(task: "layers", defaultSteps: defaults.sample.steps, outputs: outputs) { model, sample in
            var params = defaults
            params.sample = sample
            (params.iterations, params.samples_per_layer, params.restarts) = (iterations, samples, restarts)
            var (buffer, hintBuffer) = (input.image, hintFile?.image ?? fcs_image())
            var (layer1, layer2, mask) = (fcs_image(), fcs_image(), fcs_image())
            defer { fcsImageFree(&layer1); fcsImageFree(&layer2); fcsImageFree(&mask) }  // when a write fails
            try withUnsafePointer(to: &hintBuffer) { hintPointer in
                params.hint = hintFile == nil ? nil : hintPointer
                try check(fcsExtractLayers(model, &buffer, &params, &layer1, &layer2, &mask))
            }
            try outputs.write(&layer1, like: input)
            try outputs.write(&layer2, like: input)
            try outputs.write(&mask, like: input)
        }
    }
}
