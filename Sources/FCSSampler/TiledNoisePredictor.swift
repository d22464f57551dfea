// Images larger than a pixel-space model was trained on (the demo model saw 64×64 patches):
// ε is predicted on overlapping tiles of the trained size, batched through the network, and the
// tiles' predictions are blended with weights that fall off linearly over the overlap
// (MultiDiffusion-style averaging, at every denoising step, so the sample stays one image).
// Structure larger than a tile is then only as coherent as the constraints and the overlaps
// make it: the honest limit of a small model.
import FCSModels
import FCSTensor

public struct TiledNoisePredictor: NoisePredictor {
    public let denoiser: any NoisePredictor
    /// Tile side and overlap, in sample pixels.
    public let tile: Int, overlap: Int
    /// Tiles per network call.
    public let batch: Int

    public init(_ denoiser: any NoisePredictor, tile: Int, overlap: Int, batch: Int = 8) {
        (self.denoiser, self.tile, self.overlap, self.batch) = (denoiser, tile, max(0, min(overlap, tile / 2)), max(1, batch))
    }

    public var downsamplings: Int { denoiser.downsamplings }

    /// Tile origins along a side of `size`: first at 0, last flush with the end, `tile − overlap` apart at most.
    func origins(_ size: Int) -> [Int] {
        guard size > tile else { return [0] }
        let stride = tile - overlap, count = (size - tile + stride - 1) / stride + 1
        return (0..<count).map { $0 == count - 1 ? size - tile : $0 * stride }
    }

    /// A tile's blending weight along one side: rising over the overlap from the tile's edges,
    /// except at the image's own borders.
    func ramp(_ i: Int, start: Int, size: Int) -> Float {
        guard overlap > 0 else { return 1 }
        let fromLow = start == 0 ? overlap : i + 1, fromHigh = start + tile == size ? overlap : tile - i
        return Float(min(overlap, fromLow, fromHigh)) / Float(overlap)
    }

    public func estimatedWorkingSetBytes(height: Int, width: Int, batch samples: Int) -> Int {
        let tiles = origins(height).count * origins(width).count
        let perForward = denoiser.estimatedWorkingSetBytes(height: min(tile, height), width: min(tile, width), batch: min(batch, tiles))
        return perForward + 4 * 4 * 3 * height * width * samples  // the sample, its blend and weight planes
    }

    public var embedsGuidance: Bool { denoiser.embedsGuidance }

    public func predictNoise(_ sample: Tensor, timestep: Float, conditioning: Conditioning?, guidanceWeight: Float?, in arena: ScratchArena) -> Tensor {
        let (channels, height, width) = (sample.shape[1], sample.shape[2], sample.shape[3])
        guard sample.shape[0] == 1, height > tile || width > tile else {
            return denoiser.predictNoise(sample, timestep: timestep, conditioning: conditioning, guidanceWeight: guidanceWeight, in: arena)
        }
        let (rows, columns) = (origins(height), origins(width))
        let (tileHeight, tileWidth) = (min(tile, height), min(tile, width))
        let positions = rows.flatMap { y in columns.map { x in (y, x) } }
        let groupSize = conditioning == nil ? batch : 1  // the conditioning is for one sample
        let source = sample.toArray()
        var sum = [Float](repeating: 0, count: source.count), weights = [Float](repeating: 0, count: height * width)
        for first in stride(from: 0, to: positions.count, by: groupSize) {
            let group = Array(positions[first..<min(first + groupSize, positions.count)])
            var tiles = [Float](repeating: 0, count: group.count * channels * tileHeight * tileWidth)
            for (n, (y0, x0)) in group.enumerated() {
                for c in 0..<channels {
                    for y in 0..<tileHeight {
                        for x in 0..<tileWidth {
                            tiles[((n * channels + c) * tileHeight + y) * tileWidth + x] = source[(c * height + y0 + y) * width + x0 + x]
                        }
                    }
                }
            }
            let predicted = arena.scope {
                denoiser.predictNoise(Tensor(shape: [group.count, channels, tileHeight, tileWidth], values: tiles), timestep: timestep,
                                      conditioning: conditioning, guidanceWeight: guidanceWeight, in: arena).toArray()
            }
            for (n, (y0, x0)) in group.enumerated() {
                for y in 0..<tileHeight {
                    let wy = ramp(y, start: y0, size: height)
                    for x in 0..<tileWidth {
                        let w = wy * ramp(x, start: x0, size: width)
                        weights[(y0 + y) * width + x0 + x] += w
                        for c in 0..<channels {
                            sum[(c * height + y0 + y) * width + x0 + x] += w * predicted[((n * channels + c) * tileHeight + y) * tileWidth + x]
                        }
                    }
                }
            }
        }
        let out = arena.tensor(sample.shape)
        for i in 0..<source.count { out.data[i] = sum[i] / weights[i % (height * width)] }
        return out
    }
}
