// Merging LoRAs into weights as the layers read them, in float32 before a layer packs its
// weights: W' = W + Σ scale · scaling · up · down, as diffusers' `fuse_lora(lora_scale:)` (peft's
// `Linear.merge` / `Conv2d.merge`: `get_delta_weight` = (B @ A) · scaling, a convolution's factors
// flattened to [out, r] · [r, in·kh·kw]) and stable-diffusion.cpp's lora.hpp do.
import FCSTensor

/// The LoRAs one model is loaded with, and which of their updates the layers have taken, so
/// that an update no module takes is an error instead of a silent no-op.
final class LoRAMerge: @unchecked Sendable {  // `merged` changes only during single-threaded model construction
    private let loras: [(lora: LoRA, scale: Float)]
    /// (index into `loras`, module) of each update merged so far.
    private var merged: Set<Pair> = []

    private struct Pair: Hashable {
        let lora: Int
        let module: LoRAKey.Module
    }

    /// Reads every file of `references`.
    /// - Throws: what ``LoRA/init(path:)`` throws, and `.invalidArgument` for a scale that is not finite.
    init(_ references: [LoRAReference]) throws(FCSError) {
        var loras: [(lora: LoRA, scale: Float)] = []
        for reference in references {
            guard reference.scale.isFinite else { throw .invalidArgument("\(reference.path): LoRA scale \(reference.scale) is not a finite number") }
            loras.append((try LoRA(path: reference.path), reference.scale))
        }
        self.loras = loras
    }

    /// `weight`, read as the diffusers name `name` (`….to_q.weight`) of `component`, with every
    /// LoRA's update of that module added; `weight` itself when none has one.
    /// - Throws: `.format` naming the LoRA file and key when an update's shape does not fit the weight.
    func merge(_ weight: Tensor, name: String, component: LoRAKey.Component) throws(FCSError) -> Tensor {
        guard name.hasSuffix(".weight") else { return weight }
        let module = LoRAKey.Module(component, diffusersName: String(name.dropLast(".weight".count)))
        let updates = loras.indices.compactMap { i in loras[i].lora.updates[module].map { (i, $0) } }
        guard !updates.isEmpty else { return weight }
        let outFeatures = weight.shape.first ?? 1, inElements = weight.count / max(outFeatures, 1)
        // In place when the reader made the tensor (float16 converted, random); a float32 weight
        // may be a view of a file mapping or of fcs's own read-only bytes (the demo model): a copy.
        let result: Tensor
        if weight.ownsAllItsStorage {
            result = weight.reshaped([outFeatures, inElements])
        } else {
            result = Tensor(zeros: [outFeatures, inElements])
            weight.copyElements(to: result.data)
        }
        for (i, update) in updates {
            let (lora, scale) = loras[i]
            guard update.outFeatures == outFeatures, update.inElements == inElements else {
                throw .format("\(lora.path): \(update.downKey) is an update of shape [\(update.outFeatures), \(update.inElements)] (out, in·kh·kw) for \(component.rawValue) \(name) of shape \(weight.shape)")
            }
            addMatmul(update.up, update.down, scaledBy: scale * update.scaling, into: result)
            merged.insert(Pair(lora: i, module: module))
        }
        return result.reshaped(weight.shape)
    }

    /// After the model is built: fails naming the first update that no module took.
    /// - Throws: `.format` naming the LoRA file and key.
    func requireAllMerged() throws(FCSError) {
        for (i, (lora, _)) in loras.enumerated() {
            let left = lora.updates.filter { !merged.contains(Pair(lora: i, module: $0.key)) }
            guard let first = left.values.map(\.downKey).min() else { continue }
            throw .format("\(lora.path): LoRA key \(first) lands on no module of the model\(left.count > 1 ? " (nor do \(left.count - 1) other update(s))" : "")")
        }
    }
}
