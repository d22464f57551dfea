// TAESD as a LatentCodec: its encoder is deterministic and already outputs the denoiser's
// (scaled) latents, so `scalingFactor` is its config's 1.0 and the "mean" is its output.
import FCSModels
import FCSTensor

extension AutoencoderTiny: LatentCodec {
    public var downsamplingFactor: Int { config.encoderDownsamplingFactor }
    public var latentChannels: Int { config.latentChannels }
    public var scalingFactor: Float { config.scalingFactor }
    public func encodeMean(_ image: Tensor, in arena: ScratchArena) -> Tensor { encode(image, in: arena) }

    /// Each half runs one layer at a time (``AutoencoderTiny`` keeps only the current
    /// activation): at full resolution a block holds about 8 maps of the widest stage's channels,
    /// plus the convolutions' scratch; 48 bytes per channel and pixel bounds it.
    public func estimatedWorkingSetBytes(height: Int, width: Int) -> Int {
        let channels = max(config.encoderBlockOutChannels.max() ?? 0, config.decoderBlockOutChannels.max() ?? 0)
        return 48 * channels * height * width + 16 << 20
    }
}
