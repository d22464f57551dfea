// TAESD as a LatentCodec: its encoder is deterministic and already outputs the denoiser's
// (scaled) latents, so `scalingFactor` is its config's 1.0 and the "mean" is its output.
import FCSModels
import FCSTensor

extension AutoencoderTiny: LatentCodec {
    public var downsamplingFactor: Int { config.encoderDownsamplingFactor }
    public var latentChannels: Int { config.latentChannels }
    public var scalingFactor: Float { config.scalingFactor }
    public func encodeMean(_ image: Tensor, in arena: ScratchArena) -> Tensor { encode(image, in: arena) }

    /// Each half keeps only the current activation between layers, so its peak is one block at
    /// full resolution: measured on TAESD's shapes (64 channels, random weights) 5.1–5.4 KB per
    /// pixel at 128² and 64² for either half — about 20 maps: the block's temporaries and the
    /// Winograd tiles. 96 bytes per channel and pixel bounds it.
    public func estimatedWorkingSetBytes(height: Int, width: Int) -> Int {
        let channels = max(config.encoderBlockOutChannels.max() ?? 0, config.decoderBlockOutChannels.max() ?? 0)
        return 96 * channels * height * width + 16 << 20
    }
}
