@testable import FCSModels
import FCSTensor
import Foundation
import XCTest

/// Tiled VAE encode and decode: diffusers' tile layout and blending, the size threshold, the
/// cancellation checkpoints, and how far tiling moves the result on the tiny SD VAE.
final class AutoencoderKLTilingTests: XCTestCase {
    private var fixtures: String { Bundle.module.resourcePath! + "/Fixtures/tiny-sd" }

    private func tinyVAE() throws -> AutoencoderKL {
        let config = try JSONDecoder().decode(AutoencoderKLConfig.self,
                                              from: Data(contentsOf: URL(fileURLWithPath: fixtures + "/vae/config.json")))
        return try AutoencoderKL(config: config, weights: WeightReader(
            file: try SafeTensorsFile(path: fixtures + "/vae/diffusion_pytorch_model.safetensors")))
    }

    func test_layout_isDiffusersForSD15Sizes() throws {
        var vae = try tinyVAE()  // 4 levels, so 8 pixels per latent as in SD 1.5
        vae.tileLatentMinSize = 64
        XCTAssertEqual(vae.tileSampleMinSize, 512)
        // tile_sample_min_size 512, overlap_size 384, row_limit 48, blend_extent 16 (latents)
        XCTAssertEqual(vae.encoderTiles, .init(tile: 512, stride: 384, outputStride: 48, blendExtent: 16, outputTile: 64))
        // tile_latent_min_size 64, overlap_size 48, row_limit 384, blend_extent 128 (pixels)
        XCTAssertEqual(vae.decoderTiles, .init(tile: 64, stride: 48, outputStride: 384, blendExtent: 128, outputTile: 512))
    }

    /// The tiling against a line-by-line transcription of diffusers' tiled_decode (tiles kept
    /// whole, blend_v and blend_h in place, crop, concatenate), with a stand-in decoder that
    /// upsamples ×2 and adds a different offset to every tile, so each blend weight shows. The
    /// last tiles are narrower than the blend, as in diffusers when a size is just past a stride.
    func test_tiles_areBlendedAndPlacedAsDiffusersDoes() throws {
        let vae = try tinyVAE()
        let (tileSize, overlapSize, rowLimit, blendExtent) = (4, 2, 4, 4)
        let layout = AutoencoderKL.TileLayout(tile: tileSize, stride: overlapSize, outputStride: rowLimit,
                                              blendExtent: blendExtent, outputTile: 2 * tileSize)
        let (height, width) = (7, 9)
        var random = NormalGenerator(seed: 5)
        let input = random.tensor([1, 1, height, width])
        func standIn(_ tile: [[Float]], index: Int) -> [[Float]] {
            tile.flatMap { row in [row, row] }.map { row in row.flatMap { [$0 + Float(index), $0 + Float(index)] } }
        }
        // diffusers, transcribed
        var rows: [[[[Float]]]] = []
        var index = 0
        for i in stride(from: 0, to: height, by: overlapSize) {
            var row: [[[Float]]] = []
            for j in stride(from: 0, to: width, by: overlapSize) {
                let tile = (i..<min(i + tileSize, height)).map { y in
                    (j..<min(j + tileSize, width)).map { x in input.data[y * width + x] }
                }
                row.append(standIn(tile, index: index))
                index += 1
            }
            rows.append(row)
        }
        for i in rows.indices {
            for j in rows[i].indices {
                if i > 0 {  // blend_v
                    let a = rows[i - 1][j], extent = min(a.count, rows[i][j].count, blendExtent)
                    for y in 0..<extent {
                        let t = Double(y) / Double(extent)
                        for x in rows[i][j][y].indices {
                            rows[i][j][y][x] = a[a.count - extent + y][x] * Float(1 - t) + rows[i][j][y][x] * Float(t)
                        }
                    }
                }
                if j > 0 {  // blend_h
                    let a = rows[i][j - 1], extent = min(a[0].count, rows[i][j][0].count, blendExtent)
                    for y in rows[i][j].indices {
                        for x in 0..<extent {
                            let t = Double(x) / Double(extent)
                            rows[i][j][y][x] = a[y][a[y].count - extent + x] * Float(1 - t) + rows[i][j][y][x] * Float(t)
                        }
                    }
                }
            }
        }
        let expected = rows.flatMap { row in
            (0..<min(rowLimit, row[0].count)).map { y in row.flatMap { $0[y].prefix(rowLimit) } }
        }
        // ours
        let arena = ScratchArena()
        let output = arena.tensor([1, 1, 2 * height, 2 * width])
        var calls = 0
        vae.tiled(input, into: output, layout: layout, in: arena, checkpoint: {}) { tile in
            let (h, w) = (tile.shape[2], tile.shape[3])
            let values = (0..<h).map { y in (0..<w).map { x in tile.data[y * w + x] } }
            let result = standIn(values, index: calls).flatMap { $0 }
            calls += 1
            let out = arena.tensor([1, 1, 2 * h, 2 * w])
            out.data.update(from: result, count: result.count)
            return out
        }
        XCTAssertEqual(calls, 20)
        XCTAssertEqual(expected.count, 2 * height)
        XCTAssertEqual(output.toArray(), expected.flatMap { $0 })
    }

    /// Without overlap each tile of the result is exactly the model run on that tile alone.
    func test_eachTile_isTheModelOnItsTile() throws {
        var vae = try tinyVAE()
        vae.tileLatentMinSize = 4  // tiles of 32 pixels
        vae.tileOverlapFactor = 0
        let arena = ScratchArena()
        var random = NormalGenerator(seed: 8)
        let image = random.tensor([1, 3, 64, 64]), latents = random.tensor([1, 4, 8, 8])
        let tiledMean = vae.encode(image, in: arena).mean, tiledImage = vae.decode(latents, in: arena)
        var whole = vae
        whole.tileLatentMinSize = 1000
        for (y, x) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            let imageTile = Tensor(shape: [1, 3, 32, 32], values: window(image, y * 32, x * 32, 32))
            let latentTile = Tensor(shape: [1, 4, 4, 4], values: window(latents, y * 4, x * 4, 4))
            XCTAssertEqual(window(tiledMean, y * 4, x * 4, 4), whole.encode(imageTile, in: arena).mean.toArray(), "encode tile \(y), \(x)")
            XCTAssertEqual(window(tiledImage, y * 32, x * 32, 32), whole.decode(latentTile, in: arena).toArray(), "decode tile \(y), \(x)")
        }
    }

    /// The `side × side` block at (`top`, `left`) of each channel of a `[1, C, H, W]` tensor.
    private func window(_ t: Tensor, _ top: Int, _ left: Int, _ side: Int) -> [Float] {
        let (channels, height, width) = (t.shape[1], t.shape[2], t.shape[3])
        return (0..<channels).flatMap { c in
            (top..<top + side).flatMap { y in (left..<left + side).map { x in t.data[(c * height + y) * width + x] } }
        }
    }

    func test_imagesUpToOneTile_areNotTiled_largerOnesAre() throws {
        let vae = try tinyVAE()  // tiles of 64 pixels, 8 latents; overlap_size 48 and 6
        let arena = ScratchArena()
        var random = NormalGenerator(seed: 6)
        for (side, passes) in [(64, 1), (128, 9), (40, 1)] {
            var calls = 0
            _ = try vae.encode(random.tensor([1, 3, side, side]), in: arena) { calls += 1; return true }
            XCTAssertEqual(calls, passes, "encode \(side)²")
            calls = 0
            _ = try vae.decode(random.tensor([1, 4, side / 8, side / 8]), in: arena) { calls += 1; return true }
            XCTAssertEqual(calls, passes, "decode \(side / 8)²")
        }
        // the fixture's 64² reference is one tile: unchanged, bit for bit
        let reference = try SafeTensorsFile(path: fixtures + "/reference.safetensors")
        let latent = try reference.tensor("vae.dec.latent")
        var untiled = vae
        untiled.tileLatentMinSize = 1000
        XCTAssertEqual(vae.decode(latent, in: arena).toArray(), untiled.decode(latent, in: arena).toArray())
    }

    func test_shouldContinue_cancelsBeforeTheNextTile() throws {
        let vae = try tinyVAE()
        var random = NormalGenerator(seed: 7)
        var calls = 0
        XCTAssertThrowsError(try vae.decode(random.tensor([1, 4, 16, 16]), in: ScratchArena()) { calls += 1; return calls < 3 }) {
            XCTAssertEqual(($0 as? FCSError)?.code, .cancelled)
        }
        XCTAssertEqual(calls, 3)
        XCTAssertThrowsError(try vae.encode(random.tensor([1, 3, 64, 64]), in: ScratchArena()) { false }) {
            XCTAssertEqual(($0 as? FCSError)?.code, .cancelled)
        }
    }

    /// Latents whose image no machine could hold are refused before any work (the tensor here is
    /// a view that is never read).
    func test_decodeBeyondMemory_throwsOutOfMemory() throws {
        let vae = try tinyVAE()
        let placeholder = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        defer { placeholder.deallocate() }
        let latents = Tensor(borrowing: placeholder, shape: [1, 4, 1 << 17, 1 << 17])
        XCTAssertThrowsError(try vae.decode(latents, in: ScratchArena()) { true }) {
            XCTAssertEqual(($0 as? FCSError)?.code, .outOfMemory, "\($0)")
        }
    }

    func test_wrongShapes_throwInsteadOfTrapping() throws {
        let vae = try tinyVAE()
        let arena = ScratchArena()
        XCTAssertThrowsError(try vae.encode(Tensor(zeros: [1, 3, 60, 64]), in: arena) { true }) {
            XCTAssertEqual(($0 as? FCSError)?.code, .invalidArgument)
            XCTAssertTrue("\($0)".contains("multiples of 8"), "\($0)")
        }
        XCTAssertThrowsError(try vae.encode(Tensor(zeros: [1, 4, 64, 64]), in: arena) { true })
        XCTAssertThrowsError(try vae.decode(Tensor(zeros: [1, 3, 8, 8]), in: arena) { true })
        XCTAssertThrowsError(try vae.decode(Tensor(zeros: [1, 4, 0, 8]), in: arena) { true })
    }

    /// GroupNorm and the mid-block attention are global, so tiles move the result everywhere, not
    /// only at seams. Measured on the tiny (untrained) SD VAE at twice its 64-pixel tile, a ratio
    /// like 1024² on SD 1.5's 512² tiles, for a smooth test image and its own latents:
    ///
    /// | pass | values span | max abs error | mean abs error | mean away from seams |
    /// | --- | --- | --- | --- | --- |
    /// | encode (posterior mean) | ±3.1 | 1.86 | 0.27 | 0.26 |
    /// | decode | ±3.7 | 3.58 | 0.33 | 0.33 |
    ///
    /// The bounds below are those figures with a margin; the documented tolerance of
    /// ``AutoencoderKL/encode(_:in:)`` and ``AutoencoderKL/decode(_:in:)``.
    func test_tiling_movesTheTinyVAEsResultWithinItsStatedTolerance() throws {
        let tiled = try tinyVAE()
        var whole = tiled
        whole.tileLatentMinSize = 1000
        let side = 128, arena = ScratchArena()
        let image = Tensor(zeros: [1, 3, side, side])
        for c in 0..<3 {
            for y in 0..<side {
                for x in 0..<side {
                    image.data[(c * side + y) * side + x] = 0.9 * sin(Float(x) * 0.07 + Float(c)) * cos(Float(y) * 0.05 - Float(c))
                }
            }
        }
        let mean = whole.encode(image, in: arena).mean
        let latents = Tensor(shape: mean.shape, values: mean.toArray())
        func errors(_ a: Tensor, _ b: Tensor) -> (max: Float, mean: Float) {
            let e = zip(a.toArray(), b.toArray()).map { abs($0 - $1) }
            return (e.max() ?? .nan, e.reduce(0, +) / Float(e.count))
        }
        let encoded = errors(tiled.encode(image, in: arena).mean, mean)
        XCTAssertLessThanOrEqual(encoded.max, 2.5)
        XCTAssertLessThanOrEqual(encoded.mean, 0.35)
        let decoded = errors(tiled.decode(latents, in: arena), whole.decode(latents, in: arena))
        XCTAssertLessThanOrEqual(decoded.max, 4.5)
        XCTAssertLessThanOrEqual(decoded.mean, 0.45)
    }

    /// The working-set estimate follows the passes' allocations exactly (one arena chunk, so no
    /// chunk tails), untiled and tiled, for batches too; the throwing passes reserve it first.
    func test_workingSetEstimate_isTheArenasPeak() throws {
        let vae = try tinyVAE()
        var random = NormalGenerator(seed: 10)
        for (batch, side) in [(1, 64), (2, 48), (1, 128), (2, 136)] {
            let encodeArena = ScratchArena(chunkBytes: 256 << 20)
            _ = vae.encode(random.tensor([batch, 3, side, side]), in: encodeArena)
            XCTAssertEqual(vae.scratchPeakFloats(.encode, height: side, width: side, batch: batch),
                           encodeArena.peakFloats, "encode \(batch) × \(side)²")
            let decodeArena = ScratchArena(chunkBytes: 256 << 20)
            _ = vae.decode(random.tensor([batch, 4, side / 8, side / 8]), in: decodeArena)
            XCTAssertEqual(vae.scratchPeakFloats(.decode, height: side, width: side, batch: batch),
                           decodeArena.peakFloats, "decode \(batch) × \(side)²")
            // reserved up front, the pass needs no more memory than that
            let reserving = ScratchArena(chunkBytes: 1 << 20)
            _ = try vae.decode(random.tensor([batch, 4, side / 8, side / 8]), in: reserving) { true }
            XCTAssertEqual(reserving.reservedBytes, vae.estimatedWorkingSetBytes(.decode, height: side, width: side, batch: batch))
        }
        XCTAssertEqual(vae.estimatedWorkingSetBytes(.encode, height: 64, width: 64), vae.scratchPeakFloats(.encode, height: 64, width: 64, batch: 1) * 4 + (64 << 20))
        XCTAssertEqual(vae.estimatedWorkingSetBytes(.decode, height: 1 << 30, width: 1 << 30), .max)
        XCTAssertEqual(vae.estimatedWorkingSetBytes(.encode, height: 0, width: 64), 0)
    }
}
