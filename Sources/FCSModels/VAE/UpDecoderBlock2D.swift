// Port of diffusers.models.unets.unet_2d_blocks.UpDecoderBlock2D (no time embedding, eps 1e-6):
// resnets, then an optional Upsample2D (nearest ×2 and a 3×3 convolution).
import FCSTensor

struct UpDecoderBlock2D: Sendable {
    let resnets: [ResnetBlock2D]
    let upsampler: Upsample2D?  // upsamplers.0

    init(_ weights: WeightReader, inChannels: Int, outChannels: Int, layers: Int, groups: Int, addUpsample: Bool,
         convAlgorithm: Conv2d.Algorithm) throws(FCSError) {
        resnets = try ResnetBlock2D.stack(weights, count: layers, inChannels: inChannels, outChannels: outChannels, tembChannels: nil,
                                          groups: groups, eps: 1e-6, convAlgorithm: convAlgorithm)
        upsampler = addUpsample ? try Upsample2D(weights.scoped("upsamplers.0"), channels: outChannels) : nil
    }

    /// - Parameter start: a mark taken before `hiddenStates` was allocated: each layer's result
    ///   replaces its input there, so the block consumes `hiddenStates` and holds one activation
    ///   between layers.
    func callAsFunction(_ hiddenStates: Tensor, resultAt start: ScratchArena.Mark, in arena: ScratchArena) -> Tensor {
        var h = hiddenStates
        for resnet in resnets { h = resnet(h, temb: nil, resultAt: start, in: arena) }
        return upsampler.map { $0(h, resultAt: start, in: arena) } ?? h
    }
}
