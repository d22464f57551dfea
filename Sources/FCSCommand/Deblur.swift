import ArgumentParser
import CFCS
import FCS

/// `fcs deblur IMAGE (--kernel K.png | --sigma S) -o OUT`
struct Deblur: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove a known blur from IMAGE: a Gaussian (--sigma) or a point-spread function (--kernel).",
        discussion: "The blur's adjoint carries the residual back to the image (see fcs.h, fcs_solve)."
    )

    @Argument(help: "The blurred image.") var image: String
    @Option(help: "The blur's point-spread function as an image (its first channel; odd sides up to 255; scaled to sum 1).") var kernel: String?
    @Option(help: "The Gaussian blur's σ in pixels, (0, 30].") var sigma: Float?
    @Option(name: .shortAndLong, help: "Output file; its suffix picks the format.") var output: String
    @OptionGroup var noise: NoiseOption
    @OptionGroup var sampling: SamplingOptions

    func validate() throws {
        guard (kernel == nil) != (sigma == nil) else { throw ValidationError("give one of --kernel and --sigma") }
    }

    func run() throws {
        let input = try ImageFile(image), kernelFile = try kernel.map(ImageFile.init), outputs = try OutputFiles([output])
        try sampling.run(task: "deblur", noisePath: noise.noisePath, outputs: outputs) { model, params in
            var constraint = fcsConstraintDefault()
            var (buffer, kernelBuffer, result) = (input.image, kernelFile?.image ?? fcs_image(), fcs_image())
            if let sigma { constraint.sigma = sigma }
            try withUnsafePointer(to: &kernelBuffer) { kernelPointer in
                if kernelFile != nil { (constraint.kind, constraint.kernel) = (FCS_CONSTRAINT_KERNEL_BLUR, kernelPointer) }
                try check(fcsSolve(model, &buffer, &constraint, &params, &result))
            }
            try outputs.write(&result, like: input)
        }
    }
}
