import _FCSKernels

/// `torch.nn.Conv2d` (groups = 1, dilation = 1) on NCHW tensors.
///
/// Two algorithms, chosen at creation (weights are transformed and packed once, then):
/// * ``Algorithm-swift.enum/winograd`` — F(2×2, 3×3) for stride-1 3×3 convolutions: 2.25× fewer
///   multiply-adds, as 16 GEMMs over transformed 4×4 input tiles; costs 16/9 of the weight
///   memory.
/// * ``Algorithm-swift.enum/implicitGEMM`` — any shape: one GEMM (`fcs_conv_gemm`) that
///   gathers the zero-padded input straight into cache-sized panels, so no im2col matrix is
///   ever formed and the output is written once.
public struct Conv2d: Sendable {
    public enum Algorithm: Sendable {
        /// Winograd where it applies (3×3, stride 1, at least 16 input and output channels —
        /// below that the transforms cost more than they save), else implicit GEMM.
        case automatic
        case implicitGEMM
        /// Only valid for 3×3 kernels with stride 1.
        case winograd

        /// The faster choice for a layer whose output is about `outputSize` × `outputSize`
        /// (measured on SD's shapes: Winograd wins from 16×16 up; below that its 16 weight
        /// matrices are read for too few tiles). Models know their layers' sizes; pass this.
        public static func preferred(forOutputSize outputSize: Int) -> Algorithm {
            outputSize >= 16 ? .automatic : .implicitGEMM
        }
    }

    /// Zero padding per side, as `F.pad(x, (left, right, top, bottom))` would add.
    public struct Padding: Sendable, Equatable {
        public var top, bottom, left, right: Int
        public init(top: Int, bottom: Int, left: Int, right: Int) {
            (self.top, self.bottom, self.left, self.right) = (top, bottom, left, right)
        }
        public static func all(_ p: Int) -> Padding { Padding(top: p, bottom: p, left: p, right: p) }
    }

    public let inChannels: Int
    public let outChannels: Int
    public let kernelHeight: Int
    public let kernelWidth: Int
    public let stride: Int
    public let padding: Padding
    public let algorithm: Algorithm
    /// Implicit GEMM: the weight as A[out, in·kh·kw] (PyTorch's order) in the GEMM's panel
    /// layout. Winograd: the 16 transformed [out, in] matrices, each so packed.
    let packedWeight: StoredWeights
    let bias: Tensor?

    /// - Parameters:
    ///   - weight: `[out, in, kh, kw]`, the PyTorch layout.
    ///   - bias: `[out]` or nil.
    ///   - algorithm: ``Algorithm-swift.enum/automatic`` unless a test or a memory budget says otherwise.
    ///   - precision: how the packed weights are kept.
    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Padding = .all(0), algorithm: Algorithm = .automatic,
                precision: WeightPrecision = .float32) {
        precondition(weight.rank == 4 && stride >= 1, "Conv2d: weight must be [out, in, kh, kw]")
        (outChannels, inChannels, kernelHeight, kernelWidth) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        precondition(bias == nil || bias!.count == outChannels, "Conv2d: bias must have \(outChannels) values")
        self.stride = stride
        self.padding = padding
        self.bias = bias.map { Tensor(shape: [$0.count], values: $0.toArray()) }
        let source = weight.isContiguous ? weight : Tensor(shape: weight.shape, values: weight.toArray())
        let winogradApplies = kernelHeight == 3 && kernelWidth == 3 && stride == 1
        precondition(algorithm != .winograd || winogradApplies, "Conv2d: Winograd needs a 3×3 kernel and stride 1")
        let useWinograd = algorithm == .winograd || (algorithm == .automatic && winogradApplies && inChannels >= 16 && outChannels >= 16)
        self.algorithm = useWinograd ? .winograd : .implicitGEMM
        if useWinograd {
            let transformed = Tensor(zeros: [16, outChannels, inChannels])
            fcs_winograd_weight_transform(source.data, outChannels, inChannels, transformed.data)
            let packedSize = fcs_conv_gemm_packed_size(outChannels, inChannels)
            let packed = Tensor(zeros: [16 * packedSize])
            for xi in 0..<16 {
                fcs_conv_gemm_pack_weight(transformed.data + xi * outChannels * inChannels, outChannels, inChannels,
                                          packed.data + xi * packedSize)
            }
            packedWeight = StoredWeights(packed, precision: precision)
        } else {
            let k = inChannels * kernelHeight * kernelWidth
            let packed = Tensor(zeros: [fcs_conv_gemm_packed_size(outChannels, k)])
            fcs_conv_gemm_pack_weight(source.data, outChannels, k, packed.data)
            packedWeight = StoredWeights(packed, precision: precision)
        }
    }

    /// Convenience: symmetric padding.
    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int, algorithm: Algorithm = .automatic,
                precision: WeightPrecision = .float32) {
        self.init(weight: weight, bias: bias, stride: stride, padding: .all(padding), algorithm: algorithm, precision: precision)
    }

    /// The output shape for an input shape `[N, C, H, W]`.
    public func outputShape(_ input: [Int]) -> [Int] {
        let paddedHeight = input[2] + padding.top + padding.bottom
        let paddedWidth = input[3] + padding.left + padding.right
        return [input[0], outChannels, (paddedHeight - kernelHeight) / stride + 1, (paddedWidth - kernelWidth) / stride + 1]
    }

    /// - Parameter x: `[N, in, H, W]`, contiguous.
    /// - Returns: `[N, out, Ho, Wo]` in `arena`.
    public func callAsFunction(_ x: Tensor, in arena: ScratchArena) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == inChannels && x.isContiguous,
                     "Conv2d: expected contiguous [N, \(inChannels), H, W], got \(x.shape)")
        let out = arena.tensor(outputShape(x.shape))
        arena.scope {
            for image in 0..<x.shape[0] {
                let input = x.data + image * x.strides[0], result = out.data + image * out.strides[0]
                if algorithm == .winograd {
                    winograd(input, result, height: x.shape[2], width: x.shape[3], arena: arena)
                } else {
                    implicitGEMM(input, result, height: x.shape[2], width: x.shape[3], arena: arena)
                }
            }
        }
        return out
    }

    private func implicitGEMM(_ input: UnsafeMutablePointer<Float>, _ result: UnsafeMutablePointer<Float>,
                              height: Int, width: Int, arena: ScratchArena) {
        let outShape = outputShape([1, inChannels, height, width])
        let (outHeight, outWidth) = (outShape[2], outShape[3])
        let paddedHeight = height + padding.top + padding.bottom, paddedWidth = width + padding.left + padding.right
        let plane = paddedHeight * paddedWidth, taps = kernelHeight * kernelWidth
        let (m, n, k) = (outChannels, outHeight * outWidth, inChannels * taps)
        precondition(inChannels * plane < Int(Int32.max), "Conv2d: input too large for 32-bit offsets")
        let weights = packedWeight.float32(in: arena)
        // B[c·taps + tap, pixel] = padded[c·plane + i·Wp + j + (oy·s)·Wp + ox·s]
        let kOffset = arena.scratchInt32(k), nOffset = arena.scratchInt32(n)
        for c in 0..<inChannels {
            for tap in 0..<taps {
                kOffset[c * taps + tap] = Int32(c * plane + tap / kernelWidth * paddedWidth + tap % kernelWidth)
            }
        }
        for oy in 0..<outHeight {
            for ox in 0..<outWidth { nOffset[oy * outWidth + ox] = Int32(oy * stride * paddedWidth + ox * stride) }
        }
        var source = input
        if padding != .all(0) {
            source = arena.scratch(inChannels * plane)
            pad(input, into: source, height: height, width: width, paddedHeight: paddedHeight, paddedWidth: paddedWidth)
        }
        if let bias {
            for o in 0..<m { (result + o * n).update(repeating: bias.data[o], count: n) }
        }
        // Split the larger output dimension: columns in multiples of 32, rows in whole A panels.
        let splitColumns = n >= m
        let unitSize = splitColumns ? 32 : Int(FCS_CONV_GEMM_MR)
        let units = ((splitColumns ? n : m) + unitSize - 1) / unitSize
        let parts = min(ComputeThreads.count, units)
        let scratchSize = fcs_conv_gemm_scratch_size()
        let scratch = arena.scratch(parts * scratchSize)
        ComputeThreads.run(maxParts: parts) { part, parts in
            let range = ComputeThreads.partRange(units, part: part, parts: parts)
            let start = range.lowerBound * unitSize, end = min(range.upperBound * unitSize, splitColumns ? n : m)
            guard start < end else { return }
            let buffer = scratch + part * scratchSize
            if splitColumns {
                fcs_conv_gemm(m, end - start, k, weights, source, kOffset, nOffset + start,
                              result + start, n, bias == nil ? 0 : 1, buffer)
            } else {
                fcs_conv_gemm(end - start, n, k, weights + start * k, source, kOffset, nOffset,
                              result + start * n, n, bias == nil ? 0 : 1, buffer)
            }
        }
    }

    private func winograd(_ input: UnsafeMutablePointer<Float>, _ result: UnsafeMutablePointer<Float>,
                          height: Int, width: Int, arena: ScratchArena) {
        let outShape = outputShape([1, inChannels, height, width])
        let (outHeight, outWidth) = (outShape[2], outShape[3])
        let (tileRows, tileCols) = ((outHeight + 1) / 2, (outWidth + 1) / 2)
        // the buffer covers whole 4×4 tiles: zeros past the padding for odd output sizes
        let bufferHeight = 2 * tileRows + 2, bufferWidth = 2 * tileCols + 2, plane = bufferHeight * bufferWidth
        precondition(16 * max(inChannels, outChannels) * tileCols < Int(Int32.max) && inChannels * plane < Int(Int32.max),
                     "Conv2d: input too large for 32-bit offsets")
        let padded = arena.scratch(inChannels * plane)
        pad(input, into: padded, height: height, width: width, paddedHeight: bufferHeight, paddedWidth: bufferWidth)
        // Tile rows in chunks whose transformed tiles take about 16 MB (a 512² VAE layer whole: 500 MB).
        let chunkRows = max(1, min(tileRows, (4 << 20) / (16 * max(inChannels, outChannels) * tileCols)))
        let maxTiles = chunkRows * tileCols
        let v = arena.scratch(16 * inChannels * maxTiles), m = arena.scratch(16 * outChannels * maxTiles)
        let kOffset = arena.scratchInt32(inChannels), nOffset = arena.scratchInt32(maxTiles)
        for t in 0..<maxTiles { nOffset[t] = Int32(t) }
        let parts = min(ComputeThreads.count, 16)
        let scratchSize = fcs_conv_gemm_scratch_size()
        let gemmScratch = arena.scratch(parts * scratchSize)
        let packedSize = fcs_conv_gemm_packed_size(outChannels, inChannels)
        let weights = packedWeight.float32(in: arena)
        var row0 = 0
        while row0 < tileRows {
            let rows = min(chunkRows, tileRows - row0), tiles = rows * tileCols
            for c in 0..<inChannels { kOffset[c] = Int32(c * tiles) }
            ComputeThreads.forEachRange(inChannels) { channels in
                fcs_winograd_input_transform(padded + channels.lowerBound * plane, channels.count, bufferHeight, bufferWidth,
                                             row0, rows, tileCols, v + channels.lowerBound * tiles, tiles, inChannels * tiles)
            }
            ComputeThreads.run(maxParts: parts) { part, parts in
                for xi in ComputeThreads.partRange(16, part: part, parts: parts) {
                    fcs_conv_gemm(outChannels, tiles, inChannels, weights + xi * packedSize, v + xi * inChannels * tiles,
                                  kOffset, nOffset, m + xi * outChannels * tiles, tiles, 0, gemmScratch + part * scratchSize)
                }
            }
            ComputeThreads.forEachRange(outChannels) { channels in
                fcs_winograd_output_transform(m + channels.lowerBound * tiles, channels.count, tiles, outChannels * tiles,
                                              row0, rows, tileCols, bias.map { $0.data + channels.lowerBound },
                                              result + channels.lowerBound * outHeight * outWidth, outHeight, outWidth)
            }
            row0 += rows
        }
    }

    /// Copies one image into a zero-filled `paddedHeight × paddedWidth` buffer at the padding's
    /// offset, channels split across threads.
    private func pad(_ x: UnsafeMutablePointer<Float>, into padded: UnsafeMutablePointer<Float>, height: Int, width: Int,
                     paddedHeight: Int, paddedWidth: Int) {
        let plane = paddedHeight * paddedWidth
        ComputeThreads.forEachRange(inChannels, minimumPerPart: 8) { channels in
            (padded + channels.lowerBound * plane).update(repeating: 0, count: channels.count * plane)
            for c in channels {
                for row in 0..<height {
                    (padded + c * plane + (row + padding.top) * paddedWidth + padding.left)
                        .update(from: x + (c * height + row) * width, count: width)
                }
            }
        }
    }
}
