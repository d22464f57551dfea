// Working-set estimates for the VAE: the scratch arena's high-water mark of an encode or decode,
// worked out by following the pass's allocations layer by layer (same order, same sizes, as the
// forward code makes them) without running it.
import FCSTensor

extension AutoencoderKL {
    public enum Pass: Sendable { case encode, decode }

    /// The memory ``encode(_:in:)`` of a `[batch, 3, height, width]` image, or ``decode(_:in:)``
    /// to one, needs beside the model's weights and the caller's input: the scratch arena's
    /// peak (outputs included) plus 64 MiB for the tails of arena chunks that a request too
    /// large for the current chunk leaves unused. Images larger than one tile are counted as
    /// tiled, so the figure grows with the image only by the output itself. `Int.max` for
    /// sizes no machine could hold; 0 for empty ones.
    ///
    /// Measured on SD 1.5's VAE (fp16 weights, resident memory the pass added, `fcs bench
    /// memory`): encode 512² 453 MiB (estimate 514), decode 512² 700 MiB (estimate 764).
    /// The throwing `encode` / `decode` reserve this much up front, so they run within it.
    public func estimatedWorkingSetBytes(_ pass: Pass, height: Int, width: Int, batch: Int = 1) -> Int {
        let floats = scratchPeakFloats(pass, height: height, width: width, batch: batch)
        guard floats > 0, floats < .max else { return floats }
        return floats * MemoryLayout<Float>.stride + (64 << 20)
    }

    /// The scratch arena's peak, in floats, for ``estimatedWorkingSetBytes(_:height:width:batch:)``.
    func scratchPeakFloats(_ pass: Pass, height: Int, width: Int, batch: Int) -> Int {
        guard height > 0, width > 0, batch > 0 else { return 0 }
        // 2^26 floats per pixel of the batch would be a 256-channel image's activations 2^18 times over
        guard Double(batch) * Double(height) * Double(width) < 0x1p36 else { return .max }
        var tally = ArenaTally()
        let factor = downscaleFactor, (latentHeight, latentWidth) = (height / factor, width / factor)
        switch pass {
        case .encode:
            let moments = 2 * config.latentChannels
            if height * width <= tileSampleMinSize * tileSampleMinSize {
                countMoments(batch: batch, height: height, width: width, &tally)
            } else {
                tally.allocate(batch * moments * latentHeight * latentWidth)
                countTiles(encoderTiles, input: (config.inChannels, height, width), outChannels: moments, &tally) { tile, tally in
                    countMoments(batch: 1, height: tile.height, width: tile.width, &tally)
                }
            }
            tally.allocate(batch * config.latentChannels * latentHeight * latentWidth)  // mean
            tally.allocate(batch * config.latentChannels * latentHeight * latentWidth)  // log-variance
        case .decode:
            if latentHeight * latentWidth <= tileLatentMinSize * tileLatentMinSize {
                countSample(batch: batch, height: latentHeight, width: latentWidth, &tally)
            } else {
                tally.allocate(batch * config.outChannels * height * width)
                countTiles(decoderTiles, input: (config.latentChannels, latentHeight, latentWidth), outChannels: config.outChannels,
                           &tally) { tile, tally in
                    countSample(batch: 1, height: tile.height, width: tile.width, &tally)
                }
            }
        }
        return tally.peak
    }

    /// `moments` on an untiled `[batch, 3, height, width]` image.
    private func countMoments(batch: Int, height: Int, width: Int, _ tally: inout ArenaTally) {
        let (c, h, w) = encoder.count(batch: batch, height: height, width: width, &tally)
        if let quantConv { _ = quantConv.count(batch: batch, c, h, w, &tally) }
    }

    /// `sample` on untiled `[batch, latent, height, width]` latents.
    private func countSample(batch: Int, height: Int, width: Int, _ tally: inout ArenaTally) {
        tally.retaining { tally in
            var shape = (config.latentChannels, height, width)
            if let postQuantConv { shape = postQuantConv.count(batch: batch, shape.0, shape.1, shape.2, &tally) }
            let (c, h, w) = decoder.count(batch: batch, height: shape.1, width: shape.2, &tally)
            return batch * c * h * w
        }
    }

    /// `tiled`'s strips and its largest tile (a whole one, or the image where it is smaller).
    private func countTiles(_ layout: TileLayout, input: (channels: Int, height: Int, width: Int), outChannels: Int,
                            _ tally: inout ArenaTally, _ tileBody: ((height: Int, width: Int), inout ArenaTally) -> Void) {
        let columns = (input.width + layout.stride - 1) / layout.stride
        tally.scope { tally in
            tally.allocate(columns * outChannels * layout.blendExtent * layout.outputTile)  // strips of the row above
            tally.allocate(outChannels * layout.outputTile * layout.blendExtent)           // strip of the tile to the left
            tally.scope { tally in
                let tile = (height: min(layout.tile, input.height), width: min(layout.tile, input.width))
                tally.allocate(input.channels * tile.height * tile.width)
                tileBody(tile, &tally)
            }
        }
    }
}

/// Follows a pass's arena allocations: what is live, and the most that ever was.
struct ArenaTally {
    private(set) var live = 0
    private(set) var peak = 0

    /// A tensor or scratch buffer of `floats`, held until a scope or `retaining` ends.
    mutating func allocate(_ floats: Int) {
        live += ScratchArena.alignedFloats(floats)
        peak = max(peak, live)
    }

    /// Scratch a layer takes and releases before it returns.
    mutating func transient(_ floats: Int) { peak = max(peak, live + floats) }

    /// `ScratchArena.scope`.
    mutating func scope(_ body: (inout ArenaTally) -> Void) {
        let start = live
        body(&self)
        live = start
    }

    /// `ScratchArena.retaining`: `body` returns the floats of the tensor it keeps.
    mutating func retaining(_ body: (inout ArenaTally) -> Int) {
        retaining(from: live, body)
    }

    /// `ScratchArena.retaining(from:)`, `start` being ``live`` when the mark was taken.
    mutating func retaining(from start: Int, _ body: (inout ArenaTally) -> Int) {
        let kept = body(&self)
        live = start
        allocate(kept)
    }
}

typealias FeatureShape = (channels: Int, height: Int, width: Int)

extension Conv2d {
    func count(batch: Int, _ channels: Int, _ height: Int, _ width: Int, _ tally: inout ArenaTally) -> FeatureShape {
        let out = outputShape([batch, channels, height, width])
        tally.allocate(out.reduce(1, *))
        tally.transient(scratchFloats(height: height, width: width))
        return (out[1], out[2], out[3])
    }
}

extension ResnetBlock2D {
    /// - Parameter start: ``ArenaTally/live`` at the caller's `resultAt` mark; nil: none.
    func count(batch: Int, _ shape: FeatureShape, resultAt start: Int? = nil, _ tally: inout ArenaTally) -> FeatureShape {
        var out = shape
        tally.retaining(from: start ?? tally.live) { tally in  // (the VAE's blocks have no time embedding)
            tally.retaining { tally in
                tally.allocate(batch * shape.channels * shape.height * shape.width)  // norm1
                out = conv1.count(batch: batch, shape.channels, shape.height, shape.width, &tally)
                return batch * out.channels * out.height * out.width
            }
            out = conv2.count(batch: batch, out.channels, out.height, out.width, &tally)  // after norm2 in place
            if let convShortcut { _ = convShortcut.count(batch: batch, shape.channels, shape.height, shape.width, &tally) }
            if outputScaleFactor != 1 { tally.allocate(batch * out.channels * out.height * out.width) }
            return batch * out.channels * out.height * out.width
        }
        return out
    }
}

extension Attention {
    /// `callAsFunction(spatial:)` on `[batch, channels, height, width]`.
    func countSpatial(batch: Int, _ shape: FeatureShape, _ tally: inout ArenaTally) {
        let tokens = shape.height * shape.width, size = batch * shape.channels * tokens
        tally.retaining { tally in
            if groupNorm != nil { tally.allocate(size) }
            tally.allocate(size)  // [B, HW, C]
            for projection in [toQ, toK, toV] {
                tally.allocate(batch * tokens * projection.outFeatures)
                tally.transient(projection.scratchFloats)
            }
            tally.allocate(batch * tokens * toQ.outFeatures)
            tally.transient(scaledDotProductAttentionScratchFloats(batch: batch, queries: tokens, keys: tokens, heads: heads,
                                                                   d: shape.channels / heads, precision: toQ.precision))
            tally.allocate(batch * tokens * toOut.outFeatures)
            tally.transient(toOut.scratchFloats)
            tally.allocate(size)  // back to [B, C, H, W]
            tally.allocate(size)  // + residual
            return size
        }
    }
}

extension UNetMidBlock2D {
    func count(batch: Int, _ shape: FeatureShape, _ tally: inout ArenaTally) -> FeatureShape {
        var out = resnets[0].count(batch: batch, shape, &tally)
        attentions.first?.countSpatial(batch: batch, out, &tally)
        out = resnets[1].count(batch: batch, out, &tally)
        return out
    }
}

extension VAEEncoder {
    func count(batch: Int, height: Int, width: Int, _ tally: inout ArenaTally) -> FeatureShape {
        var out = (convIn.inChannels, height, width)
        tally.retaining { tally in
            let start = tally.live
            out = convIn.count(batch: batch, out.0, out.1, out.2, &tally)
            for block in downBlocks {
                for resnet in block.resnets { out = resnet.count(batch: batch, out, resultAt: start, &tally) }
                if let downsampler = block.downsampler {
                    tally.retaining(from: start) { tally in
                        out = downsampler.conv.count(batch: batch, out.0, out.1, out.2, &tally)
                        return batch * out.0 * out.1 * out.2
                    }
                }
            }
            tally.retaining(from: start) { tally in
                out = midBlock.count(batch: batch, out, &tally)
                return batch * out.0 * out.1 * out.2
            }
            tally.allocate(batch * out.0 * out.1 * out.2)  // conv_norm_out
            out = convOut.count(batch: batch, out.0, out.1, out.2, &tally)
            return batch * out.0 * out.1 * out.2
        }
        return out
    }
}

extension VAEDecoder {
    func count(batch: Int, height: Int, width: Int, _ tally: inout ArenaTally) -> FeatureShape {
        var out = (convIn.inChannels, height, width)
        tally.retaining { tally in
            let start = tally.live
            out = convIn.count(batch: batch, out.0, out.1, out.2, &tally)
            tally.retaining(from: start) { tally in
                out = midBlock.count(batch: batch, out, &tally)
                return batch * out.0 * out.1 * out.2
            }
            for block in upBlocks {
                for resnet in block.resnets { out = resnet.count(batch: batch, out, resultAt: start, &tally) }
                if let upsampler = block.upsampler {
                    tally.retaining(from: start) { tally in
                        tally.allocate(batch * out.0 * out.1 * out.2 * 4)  // nearest ×2
                        out = upsampler.conv.count(batch: batch, out.0, out.1 * 2, out.2 * 2, &tally)
                        return batch * out.0 * out.1 * out.2
                    }
                }
            }
            tally.allocate(batch * out.0 * out.1 * out.2)  // conv_norm_out
            out = convOut.count(batch: batch, out.0, out.1, out.2, &tally)
            return batch * out.0 * out.1 * out.2
        }
        return out
    }
}
