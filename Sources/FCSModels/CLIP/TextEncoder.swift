import FCSTensor
import Synchronization

/// Stable Diffusion's text encoder as a loaded model keeps it: a ``CLIPTextModel`` that is built
/// from its weights when a prompt needs encoding and released right after, so that its weights
/// (about 320 MB for SD 1.x, a tenth of a 512² inpainting's memory) are not held while the UNet
/// and the VAE run. The states of the last few prompts are kept (a prompt is encoded once per
/// sampling call; layer extraction and repeated calls reuse them), so a new prompt costs one
/// build of the encoder (reading its weights again: about a second) and a repeated one nothing.
///
/// The results are those of the ``CLIPTextModel`` itself, bit for bit. The weights are read
/// again from where the model was loaded, so those files must stay in place while it is used.
public final class TextEncoder: Sendable {
    public let config: CLIPTextConfig
    private let build: @Sendable () throws(FCSError) -> CLIPTextModel
    /// (ids, states) of the most recent encodings, newest last. The lock also keeps two threads
    /// from building the encoder at once.
    private let recent = Mutex<[(ids: [[Int32]], shape: [Int], states: [Float])]>([])
    /// How many encodings ``recent`` keeps: a prompt and "" for classifier-free guidance, twice over.
    static let keptEncodings = 4

    /// Builds the model from `weights` (so that a file that does not fit the config fails here,
    /// and LoRAs record what they merged), then lets it go.
    /// - Parameter reopen: a reader over the same weights, for each later build.
    public init(config: CLIPTextConfig, weights: WeightReader,
                reopen: @escaping @Sendable () throws(FCSError) -> WeightReader) throws(FCSError) {
        self.config = config
        _ = try CLIPTextModel(config: config, weights: weights)
        build = { () throws(FCSError) in try CLIPTextModel(config: config, weights: reopen()) }
        Self.returnFreedMemory()
    }

    /// glibc keeps freed blocks below its mmap threshold (the encoder's are) in its heap for reuse;
    /// hand them back to the system, so that the UNet and the VAE do not run on top of them
    /// (measured: 0.2 GB of a 512² inpainting's 3.1 GB peak).
    private static func returnFreedMemory() { SystemMemory.returnFreedMemory() }

    /// `last_hidden_state` for each sequence of ids, `[B, tokens, hiddenSize]`, as
    /// ``CLIPTextModel/callAsFunction(_:in:)`` gives it, as an owned tensor (a new encoding runs
    /// in `arena`, which is rewound after it).
    public func callAsFunction(_ inputIDs: [[Int32]], in arena: ScratchArena) throws(FCSError) -> Tensor {
        try encode([inputIDs], in: arena)[0]
    }

    /// The states of each batch of ids, as separate ``callAsFunction(_:in:)`` calls would give
    /// them, building the encoder at most once.
    public func encode(_ batches: [[[Int32]]], in arena: ScratchArena) throws(FCSError) -> [Tensor] {
        let (results, built) = try recent.withLock { (recent) throws(FCSError) -> ([Tensor], Bool) in
            var model: CLIPTextModel?
            var results: [Tensor] = []
            for ids in batches {
                results.append(try Self.states(ids, recent: &recent, model: &model, build: build, arena: arena))
            }
            return (results, model != nil)
        }
        if built { Self.returnFreedMemory() }  // the encoder built for these is gone now
        return results
    }

    /// The kept states of `ids`, or new ones from `model` (built on first use).
    private static func states(_ ids: [[Int32]], recent: inout [(ids: [[Int32]], shape: [Int], states: [Float])],
                               model: inout CLIPTextModel?, build: () throws(FCSError) -> CLIPTextModel,
                               arena: ScratchArena) throws(FCSError) -> Tensor {
        if let index = recent.lastIndex(where: { $0.ids == ids }) {
            recent.append(recent.remove(at: index))
        } else {
            let encoder: CLIPTextModel
            if let model { encoder = model } else { encoder = try build() }
            model = encoder
            let mark = arena.mark()
            defer { arena.rewind(to: mark) }
            let states = try encoder(ids, in: arena)
            recent.append((ids, states.shape, states.toArray()))
            if recent.count > keptEncodings { recent.removeFirst() }
        }
        let kept = recent[recent.count - 1]
        return Tensor(shape: kept.shape, values: kept.states)
    }
}
