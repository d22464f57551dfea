import ArgumentParser
import CFCS
import FCS

/// `fcs inpaint IMAGE MASK -o OUT`
struct Inpaint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fill the white pixels of MASK in IMAGE.",
        discussion: "Known pixels are kept exactly (soft seam); --no-paste-back outputs the sampler's image as the paper does."
    )

    @Argument(help: "The image (any format libvips reads).") var image: String
    @Argument(help: "The mask: white (≥ half range) = fill.") var mask: String
    @Option(name: .shortAndLong, help: "Output file; its suffix picks the format.") var output: String
    @Flag(help: "Do not paste the known pixels back.") var noPasteBack = false
    @Option(help: "constrained (fcs) or replacement (the baseline, for comparisons).") var method: Method = .constrained
    @OptionGroup var sampling: SamplingOptions

    enum Method: String, ExpressibleByArgument { case constrained, replacement }

    func run() throws {
        let input = try ImageFile(image), maskFile = try ImageFile(mask), outputs = try OutputFiles([output])
        try sampling.run(task: "inpaint", outputs: outputs) { model, params in
            params.paste_back = noPasteBack ? 0 : 1
            params.method = method == .constrained ? FCS_INPAINT_CONSTRAINED : FCS_INPAINT_REPLACEMENT
            var (imageBuffer, maskBuffer, result) = (input.image, maskFile.image, fcs_image())
            try check(fcsInpaint(model, &imageBuffer, &maskBuffer, &params, &result))
            try outputs.write(&result, like: input)
        }
    }
}
