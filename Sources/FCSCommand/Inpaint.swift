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
    @Flag(inversion: .prefixedNo, help: "Keep the known pixels exactly, blended over a seam.")
    var pasteBack = sampleDefaults.paste_back != 0
    @Option(help: "Width of the seam in pixels.") var seamWidth = sampleDefaults.seam_width
    @Option(help: "Images with a longer side are sampled through a context window around the hole (0: never).")
    var contextCropAbove = sampleDefaults.context_crop_above
    @Option(help: "The side the context window is shrunk to, at most.") var contextSize = sampleDefaults.context_size
    @Option(help: "constrained (fcs) or replacement (the baseline, for comparisons).") var method = Method(sampleDefaults.method)
    @OptionGroup var noise: NoiseOption
    @OptionGroup var sampling: SamplingOptions

    /// fcs_inpaint_method by the names of the header's comments.
    enum Method: String, ExpressibleByArgument, CaseIterable {
        case constrained, replacement
        init(_ value: fcs_inpaint_method) { self = value == FCS_INPAINT_REPLACEMENT ? .replacement : .constrained }
        var cValue: fcs_inpaint_method { self == .replacement ? FCS_INPAINT_REPLACEMENT : FCS_INPAINT_CONSTRAINED }
    }

    func run() throws {
        let input = try ImageFile(image), maskFile = try ImageFile(mask), outputs = try OutputFiles([output])
        try sampling.run(task: "inpaint", noisePath: noise.noisePath, outputs: outputs) { model, params in
            params.paste_back = pasteBack ? 1 : 0
            (params.seam_width, params.context_crop_above, params.context_size) = (seamWidth, contextCropAbove, contextSize)
            params.method = method.cValue
            var (imageBuffer, maskBuffer, result) = (input.image, maskFile.image, fcs_image())
            try check(fcsInpaint(model, &imageBuffer, &maskBuffer, &params, &result))
            try outputs.write(&result, like: input)
        }
    }
}
