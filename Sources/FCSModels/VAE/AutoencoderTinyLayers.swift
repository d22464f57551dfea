// The entries of EncoderTiny's and DecoderTiny's `layers` (an nn.Sequential, whose indices name
// the weights), and running them in the memory of the largest one.
import FCSTensor

enum AutoencoderTinyLayer: Sendable {
    case conv(Conv2d)
    case activation(Activation)
    case block(AutoencoderTinyBlock)
    /// nn.Upsample(scale_factor=2, mode="nearest").
    case upsample

    /// The `act_fn` of an AutoencoderTiny config, as diffusers' `get_activation` maps it.
    enum Activation: Sendable {
        case relu, silu, gelu

        /// - Parameter name: a value ``AutoencoderTinyConfig/validate(source:)`` accepted.
        init(_ name: String) {
            switch name.lowercased() {
            case "silu", "swish": self = .silu
            case "gelu": self = .gelu
            default: self = .relu
            }
        }

        func callAsFunction(_ x: Tensor, in arena: ScratchArena) -> Tensor {
            switch self {
            case .relu: FCSTensor.relu(x, in: arena)
            case .silu: FCSTensor.silu(x, in: arena)
            case .gelu: FCSTensor.gelu(x, in: arena)
            }
        }
    }

    func callAsFunction(_ x: Tensor, in arena: ScratchArena) -> Tensor {
        switch self {
        case .conv(let conv): conv(x, in: arena)
        case .activation(let activation): activation(x, in: arena)
        case .block(let block): block(x, in: arena)
        case .upsample: upsampleNearest2x(x, in: arena)
        }
    }

    /// `nn.Sequential(*layers)(input())`, keeping only the current activation: each layer's
    /// output is moved down to where the input began (one copy per layer), so the 20-odd layers
    /// of a TAESD half at full resolution take the memory of one layer, not of all of them.
    /// - Parameter input: makes the input in `arena` (called once, first).
    /// - Returns: the last layer's output, where `input` began; everything after it is released.
    static func run(_ layers: [AutoencoderTinyLayer], input: () -> Tensor, in arena: ScratchArena) -> Tensor {
        let start = arena.mark()
        var h = input()
        for layer in layers {
            let output = layer(h, in: arena)
            arena.rewind(to: start)
            h = arena.tensor(output.shape)
            // may overlap the output's place (h starts at or before it in the same chunk): memmove
            UnsafeMutableRawPointer(h.data).copyMemory(from: output.data, byteCount: output.count * MemoryLayout<Float>.stride)
        }
        return h
    }
}
