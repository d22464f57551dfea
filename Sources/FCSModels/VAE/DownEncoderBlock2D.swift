// Port of diffusers.models.unets.unet_2d_blocks.DownEncoderBlock2D (no time embedding, eps 1e-6):
// resnets, then an optional Downsample2D that pads (0, 1, 0, 1) before its stride-2 convolution.
import FCSTensor

struct DownEncoderBlock2D: Sendable {
    let resnets: [ResnetBlock2D]
    let downsampler: Downsample2D?  // downsamplers.0

    init(_ weights: WeightReader, inChannels: Int, outChannels: Int, layers: Int, groups: Int, addDownsample: Bool,
         convAlgorithm: Conv2d.Algorithm) throws(FCSError) {
        resnets = try ResnetBlock2D.stack(weights, count: layers, inChannels: inChannels, outChannels: outChannels, tembChannels: nil,
                                          groups: groups, eps: 1e-6, convAlgorithm: convAlgorithm)
        downsampler = addDownsample ? try Downsample2D(weights.scoped("downsamplers.0"), channels: outChannels, padding: 0) : nil
    }

    /// - Parameter start: a mark taken before `hiddenStates` was allocated: each layer's result
    ///   replaces its input there, so the block consumes `hiddenStates` and holds one activation
    ///   between layers.
    func callAsFunction(_ hiddenStates: Tensor, resultAt start: ScratchArena.Mark, in arena: ScratchArena) -> Tensor {
        var h = hiddenStates
        for resnet in resnets { h = resnet(h, temb: nil, resultAt: start, in: arena) }
        return downsampler.map { d in arena.retaining(from: start) { d(h, in: arena) } } ?? h
    }
}
