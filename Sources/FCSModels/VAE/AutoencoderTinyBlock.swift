// Port of diffusers.models.unets.unet_2d_blocks.AutoencoderTinyBlock (TAESD's `Block`): three
// 3×3 convolutions with the activation between them, plus the input (or its 1×1 projection when
// the width changes), then ReLU.
import FCSTensor

struct AutoencoderTinyBlock: Sendable {
    let conv: [Conv2d]      // conv.0, conv.2, conv.4 (conv.1 and conv.3 are the activation)
    let skip: Conv2d?       // skip, no bias; nil = nn.Identity
    let activation: AutoencoderTinyLayer.Activation

    init(_ weights: WeightReader, inChannels: Int, outChannels: Int, activation: AutoencoderTinyLayer.Activation) throws(FCSError) {
        var conv: [Conv2d] = []
        for (index, inputs) in [(0, inChannels), (2, outChannels), (4, outChannels)] {
            conv.append(try weights.conv2d("conv.\(index)", in: inputs, out: outChannels, kernel: 3, padding: .all(1)))
        }
        self.conv = conv
        skip = inChannels == outChannels ? nil
            : try weights.conv2d("skip", in: inChannels, out: outChannels, kernel: 1, padding: .all(0), bias: false)
        self.activation = activation
    }

    /// - Parameter x: `[B, in, H, W]`. - Returns: `[B, out, H, W]`.
    func callAsFunction(_ x: Tensor, in arena: ScratchArena) -> Tensor {
        arena.retaining {
            var h = activation(conv[0](x, in: arena), in: arena)
            h = activation(conv[1](h, in: arena), in: arena)
            h = conv[2](h, in: arena)
            return relu(add(h, skip.map { $0(x, in: arena) } ?? x, in: arena), in: arena)
        }
    }
}
