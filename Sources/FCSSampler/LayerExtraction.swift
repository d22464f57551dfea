// Layer extraction (spec §4): from one image x, two full layers l1, l2 and a soft ownership
// mask m with x ≈ m ⊙ l1 + (1 − m) ⊙ l2, by EM over constrained samples. This is OUR
// RECONSTRUCTION of the v1 paper's procedure (its equations were never published): start from a
// random block mask; each iteration inpaints several samples of layer 1 (constrained to x where
// m > ½) and of layer 2 (where m ≤ ½), fits a per-pixel Gaussian to each layer's samples, and
// sets m to the posterior probability that layer 1 produced x's pixel; several random starts,
// keeping the one whose mixture explains x best. Extra samples are independent runs (new noise),
// not the paper's perturbed intermediate x_t.
import CFCS
import FCSModels
import FCSTensor
#if canImport(Glibc)
import Glibc
#endif

public struct LayerExtractionParameters: Sendable {
    /// The sampler for each layer sample (fewer steps than inpainting: many samples are drawn).
    public var sampler: SamplerParameters = {
        var parameters = SamplerParameters()
        parameters.steps = Int(FCS_DEFAULT_LAYER_STEPS)
        return parameters
    }()
    public var iterations = Int(FCS_DEFAULT_ITERATIONS)
    public var samplesPerLayer = Int(FCS_DEFAULT_SAMPLES_PER_LAYER)
    public var restarts = Int(FCS_DEFAULT_RESTARTS)
    public var prompt = ""
    public var seed = UInt64(FCS_DEFAULT_SEED)
    /// Side of the random initial mask's blocks, in pixels (a multiple of 8).
    public var initialBlockSize = Int(FCS_DEFAULT_BLOCK_SIZE)

    public init() {}
}

/// The result: both layers and the ownership of layer 1.
public struct ExtractedLayers: Sendable {
    /// `[1, 3, H, W]` in [-1, 1].
    public let layer1: Tensor
    public let layer2: Tensor
    /// `[1, 1, H, W]` in [0, 1]: the probability that a pixel belongs to layer 1.
    public let mask: Tensor
    /// Mean per-pixel log-likelihood of the image under the fitted mixture (higher is better).
    public let logLikelihood: Float
}

extension DiffusionModel {
    /// Splits `image` into two layers and a soft mask (see the file comment: our reconstruction).
    /// - Parameters:
    ///   - image: `[1, 3, H, W]` in [-1, 1], any size (reflect-padded to ``pixelMultiple`` and cropped back).
    ///   - hint: an optional `[1, 1, H, W]` mask (non-zero = layer 1) that replaces the random start.
    public func extractLayers(image: Tensor, hint: Tensor? = nil, parameters: LayerExtractionParameters = LayerExtractionParameters(),
                              progress: (Int, Int) -> Bool = { _, _ in true }) throws(FCSError) -> ExtractedLayers {
        guard parameters.iterations >= 1, parameters.samplesPerLayer >= 1, parameters.restarts >= 1,
              parameters.initialBlockSize >= 8, parameters.initialBlockSize % 8 == 0 else {
            throw .invalidArgument("layer extraction: iterations, samples per layer and restarts must be ≥ 1, block size a multiple of 8")
        }
        guard image.rank == 4, image.shape[0] == 1, image.shape[1] == 3 else {
            throw .invalidArgument("layer extraction: image must be [1, 3, H, W], not \(image.shape)")
        }
        let (height, width) = (image.shape[2], image.shape[3]), plane = height * width
        if let hint, hint.shape != [1, 1, height, width] {
            throw .invalidArgument("layer extraction: hint is \(hint.shape), the image needs [1, 1, \(height), \(width)]")
        }
        let padding = ImagePadding(height: height, width: width, multiple: pixelMultiple)
        if padding.isNeeded {
            let padded = try extractLayers(image: padding.pad(image), hint: hint.map(padding.pad), parameters: parameters, progress: progress)
            return ExtractedLayers(layer1: padding.crop(padded.layer1), layer2: padding.crop(padded.layer2),
                                   mask: padding.crop(padded.mask), logLikelihood: padded.logLikelihood)
        }
        try checkRequest(width: width, height: height, guided: parameters.sampler.usesClassifierFreeGuidance(denoiser), task: "layer extraction")
        let pixels = image.toArray()
        // progress counts the outer steps of all the inpaintings, so that cancelling is honoured
        // within one network forward rather than once per EM iteration
        let steps = parameters.sampler.steps
        let total = parameters.restarts * parameters.iterations * 2 * parameters.samplesPerLayer * steps
        var inpaintings = 0
        var best: ExtractedLayers?
        var words = NormalGenerator(seed: parameters.seed)
        for _ in 0..<parameters.restarts {
            var ownership = hint?.toArray().map { $0 != 0 ? Float(1) : 0 }
                ?? randomBlockMask(height: height, width: width, block: parameters.initialBlockSize, generator: &words)
            var fit: ExtractedLayers?
            for _ in 0..<parameters.iterations {
                let layer1Known = ownership.map { $0 > 0.5 }
                // a layer needs some known pixels and some to fill; a degenerate mask restarts from blocks
                if layer1Known.allSatisfy({ $0 }) || !layer1Known.contains(true) {
                    ownership = randomBlockMask(height: height, width: width, block: parameters.initialBlockSize, generator: &words)
                }
                let known = ownership.map { $0 > 0.5 }
                var layers: [(mean: [Float], variance: [Float])] = []
                for layer in 0..<2 {
                    let fill = Tensor(shape: [1, 1, height, width], values: known.map { (layer == 0) != $0 ? Float(1) : 0 })
                    var samples: [[Float]] = []
                    for _ in 0..<parameters.samplesPerLayer {
                        var inpainting = InpaintingParameters()
                        inpainting.sampler = parameters.sampler
                        inpainting.prompt = parameters.prompt
                        inpainting.seed = words.nextWord()
                        inpainting.pasteBack = false
                        let offset = inpaintings * steps
                        samples.append(try inpaint(image: image, fillMask: fill, parameters: inpainting,
                                                   progress: { step, _ in progress(offset + step, total) }).toArray())
                        inpaintings += 1
                    }
                    layers.append(gaussian(samples))
                }
                // E step: posterior of layer 1 per pixel (channels independent, equal priors)
                var logLikelihood: Double = 0
                for i in 0..<plane {
                    var l1 = 0.0, l2 = 0.0
                    for c in 0..<3 {
                        let k = c * plane + i
                        l1 += logNormal(pixels[k], layers[0].mean[k], layers[0].variance[k])
                        l2 += logNormal(pixels[k], layers[1].mean[k], layers[1].variance[k])
                    }
                    let top = max(l1, l2)
                    ownership[i] = Float(1 / (1 + exp(l2 - l1)))
                    logLikelihood += top + log(0.5 * exp(l1 - top) + 0.5 * exp(l2 - top))
                }
                fit = ExtractedLayers(layer1: Tensor(shape: image.shape, values: layers[0].mean),
                                      layer2: Tensor(shape: image.shape, values: layers[1].mean),
                                      mask: Tensor(shape: [1, 1, height, width], values: ownership),
                                      logLikelihood: Float(logLikelihood / Double(plane)))
            }
            if let fit, fit.logLikelihood.isFinite, fit.logLikelihood > best?.logLikelihood ?? -.infinity { best = fit }
        }
        guard let best else {
            throw .format("layer extraction: no restart gave a finite log-likelihood (the model's samples are NaN or infinite: corrupt weights?)")
        }
        return best
    }
}

/// Per-element mean and variance over samples, the variance floored (1e-3, about a 1/32 step
/// of the [-1, 1] range squared) so that a layer all samples agree on is not infinitely sure.
private func gaussian(_ samples: [[Float]]) -> (mean: [Float], variance: [Float]) {
    let n = Float(samples.count), count = samples[0].count
    var mean = [Float](repeating: 0, count: count), variance = mean
    for s in samples { for i in 0..<count { mean[i] += s[i] / n } }
    for s in samples { for i in 0..<count { variance[i] += (s[i] - mean[i]) * (s[i] - mean[i]) / n } }
    return (mean, variance.map { max($0, 1e-3) })
}

private func logNormal(_ x: Float, _ mean: Float, _ variance: Float) -> Double {
    let d = Double(x - mean), v = Double(variance)
    return -0.5 * (d * d / v + log(2 * Double.pi * v))
}

/// A random mask of `block`-sized squares (each layer 1 with probability ½), never all one value.
private func randomBlockMask(height: Int, width: Int, block: Int, generator: inout NormalGenerator) -> [Float] {
    let (rows, columns) = ((height + block - 1) / block, (width + block - 1) / block)
    var cells = (0..<(rows * columns)).map { _ in Float(generator.nextWord() & 1) }
    if cells.allSatisfy({ $0 == cells[0] }) { cells[0] = 1 - cells[0] }
    if rows * columns == 1 {  // one block: split it down the middle instead
        return (0..<(height * width)).map { Float($0 % width < width / 2 ? 1 : 0) }
    }
    return (0..<(height * width)).map { cells[($0 / width / block) * columns + ($0 % width) / block] }
}
