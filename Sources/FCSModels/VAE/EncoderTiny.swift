// Port of diffusers.models.autoencoders.vae.EncoderTiny (TAESD's encoder): [-1, 1] images to
// [0, 1], then per stage a convolution (3×3; stride 2 and no bias after the first stage) and
// its AutoencoderTinyBlocks, and a last 3×3 convolution to the latent channels.
import FCSTensor

struct EncoderTiny: Sendable {
    let layers: [AutoencoderTinyLayer]  // layers.N

    init(_ weights: WeightReader, config: AutoencoderTinyConfig) throws(FCSError) {
        let activation = AutoencoderTinyLayer.Activation(config.actFn)
        let channels = config.encoderBlockOutChannels
        var layers: [AutoencoderTinyLayer] = []
        func name() -> String { "layers.\(layers.count)" }
        for (stage, blocks) in config.numEncoderBlocks.enumerated() {
            let width = channels[stage]
            layers.append(.conv(stage == 0
                ? try weights.conv2d(name(), in: config.inChannels, out: width, kernel: 3, padding: .all(1))
                : try weights.conv2d(name(), in: width, out: width, kernel: 3, stride: 2, padding: .all(1), bias: false)))
            for _ in 0..<blocks {
                layers.append(.block(try AutoencoderTinyBlock(weights.scoped(name()), inChannels: width, outChannels: width,
                                                              activation: activation)))
            }
        }
        layers.append(.conv(try weights.conv2d(name(), in: channels[channels.count - 1], out: config.latentChannels,
                                               kernel: 3, padding: .all(1))))
        self.layers = layers
    }

    /// - Parameter x: `[B, in, H, W]` in [-1, 1], contiguous. - Returns: `[B, latent, ⌈H/f⌉, ⌈W/f⌉]`.
    func callAsFunction(_ x: Tensor, in arena: ScratchArena) -> Tensor {
        AutoencoderTinyLayer.run(layers, input: {
            let unit = arena.tensor(x.shape)  // TAESD works on [0, 1] images
            for i in 0..<x.count { unit.data[i] = (x.data[i] + 1) / 2 }
            return unit
        }, in: arena)
    }
}
