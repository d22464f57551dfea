import ArgumentParser
import CFCS
import FCS

/// `fcs extract-layers IMAGE -o PREFIX`
struct ExtractLayers: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract-layers",
        abstract: "Split IMAGE into two layers and a soft mask: PREFIX-layer1, PREFIX-layer2, PREFIX-mask.",
        discussion: "fcs's reconstruction of the v1 paper's EM procedure (see the README)."
    )

    @Argument(help: "The image to split.") var image: String
    @Option(name: .shortAndLong, help: "Output prefix; files get the suffix of --format.") var output: String
    @Option(help: "Output file suffix.") var format = "png"
    @Option(help: "A mask whose white pixels start as layer 1 (default: random blocks).") var hint: String?
    @Option(help: "EM iterations.") var iterations = layerDefaults.iterations
    @Option(help: "Samples per layer and iteration.") var samplesPerLayer = layerDefaults.samples_per_layer
    @Option(help: "Random starts; the best is kept.") var restarts = layerDefaults.restarts
    @Option(help: "Side of the random initial mask's blocks, in pixels.") var blockSize = layerDefaults.block_size
    @OptionGroup var sampling: SamplingOptions

    func run() throws {
        let input = try ImageFile(image), hintFile = try hint.map(ImageFile.init)
        let outputs = try OutputFiles(["layer1", "layer2", "mask"].map { "\(output)-\($0).\(format)" })
        try sampling.run(task: "extract-layers", defaultSteps: layerDefaults.sample.steps, outputs: outputs) { model, sample in
            var params = layerDefaults
            params.sample = sample
            (params.iterations, params.samples_per_layer, params.restarts, params.block_size) = (iterations, samplesPerLayer, restarts, blockSize)
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
