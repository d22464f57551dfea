import _FCSKernels

/// `torch.nn.Conv2d` (groups = 1, dilation = 1) on NCHW tensors, with weights packed once at
/// creation for the path the shape takes.
///
/// * stride 1 (on all but small inputs): the convolution is `kh × kw` GEMMs over shifted views of one zero-padded copy
///   of the input (no im2col matrix at all). Each output row is computed `padded width` long and
///   the few extra columns are dropped when the bias is added.
/// * otherwise: im2col in bounded row chunks, then one GEMM per chunk.
public struct Conv2d: Sendable {
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
    /// [out, kh * kw, in]: tap-major, so tap t's [out, in] matrix is a strided view
    /// (offset t·in, leading dimension kh·kw·in) for the shifted GEMMs, and the whole is the
    /// [out, kh·kw·in] operand of an im2col matrix built in the same tap-major row order.
    let packedWeight: Tensor
    let bias: Tensor?

    /// - Parameters:
    ///   - weight: `[out, in, kh, kw]`, the PyTorch layout.
    ///   - bias: `[out]` or nil.
    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Padding = .all(0)) {
        precondition(weight.rank == 4 && stride >= 1, "Conv2d: weight must be [out, in, kh, kw]")
        (outChannels, inChannels, kernelHeight, kernelWidth) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        precondition(bias == nil || bias!.count == outChannels, "Conv2d: bias must have \(outChannels) values")
        self.stride = stride
        self.padding = padding
        self.bias = bias.map { Tensor(shape: [$0.count], values: $0.toArray()) }
        let taps = kernelHeight * kernelWidth
        let source = weight.toArray()
        let packed = Tensor(zeros: [outChannels, taps, inChannels])
        for o in 0..<outChannels {
            for i in 0..<inChannels {
                for tap in 0..<taps {
                    packed.data[(o * taps + tap) * inChannels + i] = source[(o * inChannels + i) * taps + tap]
                }
            }
        }
        packedWeight = packed
    }

    /// Convenience: symmetric padding.
    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int) {
        self.init(weight: weight, bias: bias, stride: stride, padding: .all(padding))
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
            for n in 0..<x.shape[0] {
                let image = x.data + n * x.strides[0], result = out.data + n * out.strides[0]
                if stride == 1 && kernelHeight == 1 && kernelWidth == 1 && padding == .all(0) {
                    pointwise(image, result, pixels: x.shape[2] * x.shape[3])
                } else if usesShiftedGemms(height: x.shape[2], width: x.shape[3]) {
                    shiftedGemms(image, result, height: x.shape[2], width: x.shape[3], arena: arena)
                } else {
                    im2colGemm(image, result, height: x.shape[2], width: x.shape[3], arena: arena)
                }
            }
        }
        return out
    }

    /// Stride-1 convolutions take the shifted-GEMM path when the output is at least 32 columns
    /// wide. Narrower, the padded-width columns it computes and drops (25 % at 8×8) cost more
    /// than building a (then small) im2col matrix.
    func usesShiftedGemms(height: Int, width: Int) -> Bool {
        stride == 1 && outputShape([1, inChannels, height, width])[3] >= 32
    }

    private func pointwise(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, pixels: Int) {
        if let bias { fillRows(y, rows: outChannels, length: pixels, stride: pixels, values: bias.data) }
        Gemm.multiply(m: outChannels, n: pixels, k: inChannels, a: packedWeight.data, lda: inChannels,
                      b: x, ldb: pixels, beta: bias == nil ? 0 : 1, c: y, ldc: pixels)
    }

    private func shiftedGemms(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                              height: Int, width: Int, arena: ScratchArena) {
        let paddedHeight = height + padding.top + padding.bottom, paddedWidth = width + padding.left + padding.right
        let outHeight = paddedHeight - kernelHeight + 1, outWidth = paddedWidth - kernelWidth + 1
        let plane = paddedHeight * paddedWidth
        // The shifted views of the last channel read up to kernelWidth - 1 floats past its plane.
        let padded = arena.scratch(inChannels * plane + kernelWidth)
        ComputeThreads.forEachRange(inChannels, minimumPerPart: 8) { channels in
            let first = padded + channels.lowerBound * plane
            first.initialize(repeating: 0, count: channels.count * plane + (channels.upperBound == inChannels ? kernelWidth : 0))
            for c in channels {
                for row in 0..<height {
                    (padded + c * plane + (row + padding.top) * paddedWidth + padding.left)
                        .update(from: x + (c * height + row) * width, count: width)
                }
            }
        }
        let columns = outHeight * paddedWidth  // each output row is paddedWidth long here
        let wide = arena.scratch(outChannels * columns)
        let taps = kernelHeight * kernelWidth
        for tap in 0..<taps {
            let (i, j) = (tap / kernelWidth, tap % kernelWidth)
            Gemm.multiply(m: outChannels, n: columns, k: inChannels,
                          a: packedWeight.data + tap * inChannels, lda: taps * inChannels,
                          b: padded + i * paddedWidth + j, ldb: plane,
                          beta: tap == 0 ? 0 : 1, c: wide, ldc: columns)
        }
        // Drop the extra columns and add the bias.
        ComputeThreads.forEachRange(outChannels, minimumPerPart: 4) { channels in
            for o in channels {
                for row in 0..<outHeight {
                    let source = wide + o * columns + row * paddedWidth, destination = y + (o * outHeight + row) * outWidth
                    if let bias {
                        fcs_add(source, 1, bias.data + o, 0, destination, outWidth)
                    } else {
                        destination.update(from: source, count: outWidth)
                    }
                }
            }
        }
    }

    private func im2colGemm(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                            height: Int, width: Int, arena: ScratchArena) {
        let shape = outputShape([1, inChannels, height, width])
        let (outHeight, outWidth) = (shape[2], shape[3])
        let k = inChannels * kernelHeight * kernelWidth
        // Bound the column matrix to about 16 MB: a 512² VAE layer would need 300 MB at once.
        let rowsPerChunk = max(1, (4 << 20) / max(k * outWidth, 1))
        let columns = arena.scratch(k * min(rowsPerChunk, outHeight) * outWidth)
        var firstRow = 0
        while firstRow < outHeight {
            let rows = min(rowsPerChunk, outHeight - firstRow), n = rows * outWidth
            ComputeThreads.forEachRange(k, minimumPerPart: 16) { kRange in
                for kIndex in kRange {  // tap-major rows: kIndex = tap * inChannels + c
                    let tap = kIndex / inChannels, c = kIndex % inChannels
                    let i = tap / kernelWidth, j = tap % kernelWidth
                    let dst = columns + kIndex * n
                    for r in 0..<rows {
                        let sourceRow = (firstRow + r) * stride + i - padding.top
                        for col in 0..<outWidth {
                            let sourceCol = col * stride + j - padding.left
                            let inside = sourceRow >= 0 && sourceRow < height && sourceCol >= 0 && sourceCol < width
                            dst[r * outWidth + col] = inside ? x[(c * height + sourceRow) * width + sourceCol] : 0
                        }
                    }
                }
            }
            let out = y + firstRow * outWidth, ldc = outHeight * outWidth
            if let bias { fillRows(out, rows: outChannels, length: n, stride: ldc, values: bias.data) }
            Gemm.multiply(m: outChannels, n: n, k: k, a: packedWeight.data, lda: k, b: columns, ldb: n,
                          beta: bias == nil ? 0 : 1, c: out, ldc: ldc)
            firstRow += rows
        }
    }
}

/// Fills row `r` (of `length`, rows `stride` apart) with `values[r]`: the bias pre-fill before a
/// beta = 1 GEMM, which adds the bias for free.
func fillRows(_ y: UnsafeMutablePointer<Float>, rows: Int, length: Int, stride: Int, values: UnsafePointer<Float>) {
    for r in 0..<rows { (y + r * stride).update(repeating: values[r], count: length) }
}
