// Port of diffusers.models.resnet.ResnetBlock2D (time_embedding_norm "default", SiLU, no
// up/down): GroupNorm + SiLU, conv1, + time embedding projection, GroupNorm + SiLU, conv2,
// shortcut (1×1 conv when the width changes), / output_scale_factor. The VAE's blocks have no
// time embedding.
import FCSTensor

struct ResnetBlock2D: Sendable {
    let norm1, norm2: GroupNorm
    let conv1, conv2: Conv2d
    let timeEmbProj: Linear?   // time_emb_proj
    let convShortcut: Conv2d?  // conv_shortcut
    let outputScaleFactor: Float

    /// - Parameter convAlgorithm: for the 3×3 convolutions; models choose it for the resolution
    ///   the block runs at (`.preferred(forOutputSize:)`, or their own rule).
    init(_ weights: WeightReader, inChannels: Int, outChannels: Int, tembChannels: Int?, groups: Int, eps: Float,
         outputScaleFactor: Float = 1, convAlgorithm: Conv2d.Algorithm = .automatic) throws(FCSError) {
        func groupNorm(_ name: String, _ channels: Int) throws(FCSError) -> GroupNorm {
            GroupNorm(groups: groups, weight: try weights.tensor(name + ".weight", shape: [channels]),
                      bias: try weights.tensor(name + ".bias", shape: [channels]), eps: eps)
        }
        func conv(_ name: String, _ inputs: Int, kernel: Int) throws(FCSError) -> Conv2d {
            try weights.conv2d(name, in: inputs, out: outChannels, kernel: kernel, padding: .all(kernel / 2), algorithm: convAlgorithm)
        }
        norm1 = try groupNorm("norm1", inChannels)
        conv1 = try conv("conv1", inChannels, kernel: 3)
        timeEmbProj = try tembChannels.map { (channels: Int) throws(FCSError) in
            try weights.linear("time_emb_proj", in: channels, out: outChannels)
        }
        norm2 = try groupNorm("norm2", outChannels)
        conv2 = try conv("conv2", outChannels, kernel: 3)
        convShortcut = inChannels == outChannels ? nil : try conv("conv_shortcut", inChannels, kernel: 1)
        self.outputScaleFactor = outputScaleFactor
    }

    /// `count` blocks named `resnets.0 …`, the first taking `inChannels`, the rest `outChannels`:
    /// the resnets of diffusers' VAE blocks.
    static func stack(_ weights: WeightReader, count: Int, inChannels: Int, outChannels: Int, tembChannels: Int?,
                      groups: Int, eps: Float, convAlgorithm: Conv2d.Algorithm) throws(FCSError) -> [ResnetBlock2D] {
        var resnets: [ResnetBlock2D] = []
        for i in 0..<count {
            resnets.append(try ResnetBlock2D(weights.scoped("resnets.\(i)"), inChannels: i == 0 ? inChannels : outChannels,
                                             outChannels: outChannels, tembChannels: tembChannels, groups: groups, eps: eps,
                                             convAlgorithm: convAlgorithm))
        }
        return resnets
    }

    /// - Parameters:
    ///   - inputTensor: `[B, in, H, W]`.
    ///   - temb: `[B, tembChannels]`, or nil for blocks without a time embedding.
    ///   - start: where the result goes: a mark taken before `inputTensor` was allocated, when
    ///     the caller is done with it (the result replaces it); nil: after it.
    func callAsFunction(_ inputTensor: Tensor, temb: Tensor?, resultAt start: ScratchArena.Mark? = nil, in arena: ScratchArena) -> Tensor {
        // Lifetimes kept short, so that at most three activations of the block's size are live
        // (the VAE's 512² levels make this the arena's peak): conv1's input is dropped under its
        // output, and the time embedding, norm2 and the residual are applied in place.
        arena.retaining(from: start ?? arena.mark()) {
            let h = arena.retaining { conv1(norm1(inputTensor, silu: true, in: arena), in: arena) }  // [B, out, H, W]
            // conv2's input is a function of conv1's and time_emb_proj's outputs: a difference tape
            // recomputes it from their recorded outputs rather than keep it
            var recorded = RecordedValue.lastOutput(in: arena)
            if let timeEmbProj, let temb {
                let projected = timeEmbProj(silu(temb, in: arena), in: arena)    // [B, out]
                func addProjection(_ h: Tensor, _ projected: Tensor) -> Tensor {
                    addInPlace(h, projected.reshaped([projected.shape[0], projected.shape[1], 1, 1]))
                    return h
                }
                recorded = recorded.flatMap { h in RecordedValue.lastOutput(in: arena)?.combined(with: h) { addProjection($1, $0) } }
                _ = addProjection(h, projected)
            }
            norm2.normalizeInPlace(h, silu: true)
            let out = conv2(h, in: arena, recordedInput: recorded?.map { h in
                norm2.normalizeInPlace(h, silu: true)
                return h
            })
            addInPlace(out, convShortcut.map { $0(inputTensor, in: arena) } ?? inputTensor)  // shortcut + h, as diffusers adds
            return outputScaleFactor == 1 ? out : multiply(out, Tensor(shape: [1], values: [1 / outputScaleFactor]), in: arena)
        }
    }
}
