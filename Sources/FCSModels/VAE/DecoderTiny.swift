// Port of diffusers.models.autoencoders.vae.DecoderTiny (TAESD's decoder): latents soft-clamped
// to ±3 (3·tanh(x/3)), a 3×3 convolution and the activation, then per stage its
// AutoencoderTinyBlocks, an upsampling (not after the last stage) and a 3×3 convolution (no bias,
// except the last, to the image channels), and [0, 1] images back to [-1, 1].
import FCSTensor
#if canImport(Glibc)
import Glibc
#endif

struct DecoderTiny: Sendable {
    let layers: [AutoencoderTinyLayer]  // layers.N

    init(_ weights: WeightReader, config: AutoencoderTinyConfig) throws(FCSError) {
        let activation = AutoencoderTinyLayer.Activation(config.actFn)
        let channels = config.decoderBlockOutChannels
        var layers: [AutoencoderTinyLayer] = []
        func name() -> String { "layers.\(layers.count)" }
        layers.append(.conv(try weights.conv2d(name(), in: config.latentChannels, out: channels[0], kernel: 3, padding: .all(1))))
        layers.append(.activation(activation))
        for (stage, blocks) in config.numDecoderBlocks.enumerated() {
            let isFinal = stage == channels.count - 1, width = channels[stage]
            for _ in 0..<blocks {
                layers.append(.block(try AutoencoderTinyBlock(weights.scoped(name()), inChannels: width, outChannels: width,
                                                              activation: activation)))
            }
            if !isFinal { layers.append(.upsample) }
            layers.append(.conv(try weights.conv2d(name(), in: width, out: isFinal ? config.outChannels : width, kernel: 3,
                                                   padding: .all(1), bias: isFinal)))
        }
        self.layers = layers
    }

    /// - Parameter x: `[B, latent, h, w]`, contiguous. - Returns: `[B, out, h·f, w·f]`, roughly in [-1, 1].
    func callAsFunction(_ x: Tensor, in arena: ScratchArena) -> Tensor {
        let h = AutoencoderTinyLayer.run(layers, input: {
            let clamped = arena.tensor(x.shape)
            for i in 0..<x.count { clamped.data[i] = 3 * tanhf(x.data[i] / 3) }
            return clamped
        }, in: arena)
        for i in 0..<h.count { h.data[i] = h.data[i] * 2 - 1 }  // TAESD's [0, 1] images to diffusers' [-1, 1]
        return h
    }
}
