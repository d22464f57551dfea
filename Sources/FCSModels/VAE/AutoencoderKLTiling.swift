// diffusers' AutoencoderKL.tiled_encode / tiled_decode: overlapping tiles, each blended with its
// upper and left neighbours (blend_v, then blend_h) over a linear ramp, then cropped to the
// stride and laid side by side. Here a tile row is streamed into the output as it is done, so
// only a tile and the strips its neighbours blend with are held, never a row of whole tiles.
import FCSTensor

extension AutoencoderKL {
    /// The encoder's moments `[B, 2·latent, H/f, W/f]`: whole when the image is at most
    /// ``tileSampleMinSize``², else tiled. `checkpoint` runs before each tile or the whole pass.
    func moments<E: Error>(_ image: Tensor, in arena: ScratchArena, checkpoint: () throws(E) -> Void) throws(E) -> Tensor {
        let encode = { (tile: Tensor) in
            let moments = encoder(tile, in: arena)
            return quantConv.map { $0(moments, in: arena) } ?? moments
        }
        guard image.shape[2] * image.shape[3] > tileSampleMinSize * tileSampleMinSize else {
            try checkpoint()
            return encode(image)
        }
        let output = arena.tensor([image.shape[0], 2 * config.latentChannels,
                                   image.shape[2] / downscaleFactor, image.shape[3] / downscaleFactor])
        try tiled(image, into: output, layout: encoderTiles, in: arena, checkpoint: checkpoint, encode)
        return output
    }

    /// The decoder's image `[B, 3, h·f, w·f]`: whole when the latents are at most
    /// ``tileLatentMinSize``², else tiled. `checkpoint` runs before each tile or the whole pass.
    func sample<E: Error>(_ latents: Tensor, in arena: ScratchArena, checkpoint: () throws(E) -> Void) throws(E) -> Tensor {
        let decode = { (tile: Tensor) in
            arena.retaining { decoder(postQuantConv.map { $0(tile, in: arena) } ?? tile, in: arena) }
        }
        guard latents.shape[2] * latents.shape[3] > tileLatentMinSize * tileLatentMinSize else {
            try checkpoint()
            return decode(latents)
        }
        let output = arena.tensor([latents.shape[0], config.outChannels,
                                   latents.shape[2] * downscaleFactor, latents.shape[3] * downscaleFactor])
        try tiled(latents, into: output, layout: decoderTiles, in: arena, checkpoint: checkpoint, decode)
        return output
    }

    /// Where tiles go, in diffusers' terms (`overlap_size`, `row_limit`, `blend_extent`).
    struct TileLayout: Equatable {
        /// Side of an input tile (`tile_sample_min_size` to encode, `tile_latent_min_size` to decode).
        let tile: Int
        /// `overlap_size`: input distance between tile origins.
        let stride: Int
        /// `row_limit`: output rows and columns each tile contributes (the stride, in output units).
        let outputStride: Int
        /// `blend_extent`: output rows and columns blended with the neighbour.
        let blendExtent: Int
        /// Side of a whole output tile.
        let outputTile: Int
    }

    /// The blend in latents: `int(tile_latent_min_size · tile_overlap_factor)`, kept below a tile.
    private var latentBlendExtent: Int {
        let factor = min(max(tileOverlapFactor, 0), 0.99)
        return min(Int(Float(tileLatentMinSize) * factor), tileLatentMinSize - 1)
    }

    /// diffusers' tiled_encode layout, derived from the latent tile so that strides and crops
    /// always line up (diffusers' own values for SD: tiles of 512 every 384 pixels, 48 latents
    /// kept, 16 blended).
    var encoderTiles: TileLayout {
        let stride = tileLatentMinSize - latentBlendExtent
        return TileLayout(tile: tileSampleMinSize, stride: stride * downscaleFactor, outputStride: stride,
                          blendExtent: latentBlendExtent, outputTile: tileLatentMinSize)
    }

    /// diffusers' tiled_decode layout (for SD: tiles of 64 every 48 latents, 384 pixels kept, 128 blended).
    var decoderTiles: TileLayout {
        let stride = tileLatentMinSize - latentBlendExtent
        return TileLayout(tile: tileLatentMinSize, stride: stride, outputStride: stride * downscaleFactor,
                          blendExtent: latentBlendExtent * downscaleFactor, outputTile: tileSampleMinSize)
    }

    /// Runs `body` on each tile of each image of `input` and blends the results into `output`.
    /// `body` maps a contiguous `[1, C, h, w]` tile of at most `layout.tile`² to its
    /// `[1, C', h', w']` result of at most `layout.outputTile`² in `arena`.
    func tiled<E: Error>(_ input: Tensor, into output: Tensor, layout: TileLayout, in arena: ScratchArena,
                         checkpoint: () throws(E) -> Void, _ body: (Tensor) -> Tensor) throws(E) {
        let (channels, height, width) = (input.shape[1], input.shape[2], input.shape[3])
        let (outChannels, outHeight, outWidth) = (output.shape[1], output.shape[2], output.shape[3])
        let tileColumns = (width + layout.stride - 1) / layout.stride
        let extent = layout.blendExtent, side = layout.outputTile
        do {
            let mark = arena.mark()
            defer { arena.rewind(to: mark) }
            // Blended strips the next tiles need: the bottom `extent` rows of each tile of the row
            // above ([column][channel][row][x]) and the right `extent` columns of the tile to the left.
            let above = arena.tensor([tileColumns, outChannels, extent, side]), left = arena.tensor([outChannels, side, extent])
            for image in 0..<input.shape[0] {
                let source = input.data + image * input.strides[0], destination = output.data + image * output.strides[0]
                var aboveHeight = 0  // full height of the tiles in the row above
                for (row, y0) in stride(from: 0, to: height, by: layout.stride).enumerated() {
                    var leftWidth = 0
                    var rowHeight = 0
                    for (column, x0) in stride(from: 0, to: width, by: layout.stride).enumerated() {
                        try checkpoint()
                        arena.scope {
                            let tileHeight = min(layout.tile, height - y0), tileWidth = min(layout.tile, width - x0)
                            let tile = arena.tensor([1, channels, tileHeight, tileWidth])
                            for c in 0..<channels {
                                for y in 0..<tileHeight {
                                    (tile.data + (c * tileHeight + y) * tileWidth)
                                        .update(from: source + (c * height + y0 + y) * width + x0, count: tileWidth)
                                }
                            }
                            let result = body(tile)
                            let (h, w) = (result.shape[2], result.shape[3])
                            let pixels = result.data, aboveStrip = above.data + column * outChannels * extent * side
                            if row > 0 {  // blend_v with the (blended) tile above
                                let blend = min(aboveHeight, h, extent), kept = min(aboveHeight, extent)
                                for c in 0..<outChannels {
                                    for y in 0..<blend {
                                        let (a, b) = ramp(y, blend)
                                        let upper = aboveStrip + (c * extent + kept - blend + y) * side, lower = pixels + (c * h + y) * w
                                        for x in 0..<w { lower[x] = upper[x] * a + lower[x] * b }
                                    }
                                }
                            }
                            if column > 0 {  // blend_h with the (blended) tile to the left
                                let blend = min(leftWidth, w, extent), kept = min(leftWidth, extent)
                                for c in 0..<outChannels {
                                    for y in 0..<h {
                                        let strip = left.data + (c * side + y) * extent + kept - blend, target = pixels + (c * h + y) * w
                                        for x in 0..<blend {
                                            let (a, b) = ramp(x, blend)
                                            target[x] = strip[x] * a + target[x] * b
                                        }
                                    }
                                }
                            }
                            // keep what the tiles below and to the right blend with
                            let keptRows = min(h, extent), keptColumns = min(w, extent)
                            for c in 0..<outChannels {
                                for y in 0..<keptRows {
                                    (aboveStrip + (c * extent + y) * side).update(from: pixels + (c * h + h - keptRows + y) * w, count: w)
                                }
                                for y in 0..<h {
                                    (left.data + (c * side + y) * extent)
                                        .update(from: pixels + (c * h + y) * w + w - keptColumns, count: keptColumns)
                                }
                            }
                            (leftWidth, rowHeight) = (w, h)
                            // the tile's first `outputStride` rows and columns are final
                            let top = row * layout.outputStride, start = column * layout.outputStride
                            let rows = min(h, layout.outputStride, outHeight - top), columns = min(w, layout.outputStride, outWidth - start)
                            for c in 0..<outChannels {
                                for y in 0..<rows {
                                    (destination + (c * outHeight + top + y) * outWidth + start)
                                        .update(from: pixels + (c * h + y) * w, count: columns)
                                }
                            }
                        }
                    }
                    aboveHeight = rowHeight
                }
            }
        }
    }
}

/// blend_v / blend_h's weights at step `i` of `extent`: `(1 - i/extent, i/extent)`, computed in
/// double and rounded to float as PyTorch does with Python-float factors.
private func ramp(_ i: Int, _ extent: Int) -> (Float, Float) {
    let t = Double(i) / Double(extent)
    return (Float(1 - t), Float(t))
}
