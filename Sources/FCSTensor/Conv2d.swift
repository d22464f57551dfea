import _FCSKernels

/// `torch.nn.Conv2d` (groups = 1, dilation = 1) on NCHW tensors.
///
/// Every convolution is one implicit GEMM (`fcs_conv_gemm`): the weights are packed once, at
/// creation, into the micro-kernel's panel layout, and the input is gathered straight from a
/// zero-padded copy into cache-sized panels while multiplying. No im2col matrix is ever formed,
/// and the output is written once.
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
    /// The weight as the GEMM's A[out, in·kh·kw] (PyTorch's order), in the kernel's panel layout.
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
        let k = inChannels * kernelHeight * kernelWidth
        let source = weight.isContiguous ? weight : Tensor(shape: weight.shape, values: weight.toArray())
        packedWeight = Tensor(zeros: [fcs_conv_gemm_packed_size(outChannels, k)])
        fcs_conv_gemm_pack_weight(source.data, outChannels, k, packedWeight.data)
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
        let (height, width) = (x.shape[2], x.shape[3])
        let out = arena.tensor(outputShape(x.shape))
        let (outHeight, outWidth) = (out.shape[2], out.shape[3])
        let paddedHeight = height + padding.top + padding.bottom, paddedWidth = width + padding.left + padding.right
        let plane = paddedHeight * paddedWidth, taps = kernelHeight * kernelWidth
        let (m, n, k) = (outChannels, outHeight * outWidth, inChannels * taps)
        precondition(inChannels * plane < Int(Int32.max), "Conv2d: input too large for 32-bit offsets")
        arena.scope {
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
            // Split the larger output dimension: columns in multiples of 32, rows of 12.
            let splitColumns = n >= m
            let units = splitColumns ? (n + 31) / 32 : (m + Int(FCS_CONV_GEMM_MR) - 1) / Int(FCS_CONV_GEMM_MR)
            let unitSize = splitColumns ? 32 : Int(FCS_CONV_GEMM_MR)
            let parts = min(ComputeThreads.count, units)
            let scratchSize = fcs_conv_gemm_scratch_size()
            let scratch = arena.scratch(parts * scratchSize)
            let padded = padding == .all(0) ? nil : arena.scratch(inChannels * plane)
            for image in 0..<x.shape[0] {
                let input = x.data + image * x.strides[0], result = out.data + image * out.strides[0]
                if let padded { pad(input, into: padded, height: height, width: width) }
                if let bias {
                    for o in 0..<m { (result + o * n).update(repeating: bias.data[o], count: n) }
                }
                ComputeThreads.run(maxParts: parts) { part, parts in
                    let range = ComputeThreads.partRange(units, part: part, parts: parts)
                    let start = range.lowerBound * unitSize
                    let end = min(range.upperBound * unitSize, splitColumns ? n : m)
                    guard start < end else { return }
                    let buffer = scratch + part * scratchSize
                    if splitColumns {
                        fcs_conv_gemm(m, end - start, k, packedWeight.data, padded ?? input, kOffset, nOffset + start,
                                      result + start, n, bias == nil ? 0 : 1, buffer)
                    } else {
                        fcs_conv_gemm(end - start, n, k, packedWeight.data + start * k, padded ?? input, kOffset, nOffset,
                                      result + start * n, n, bias == nil ? 0 : 1, buffer)
                    }
                }
            }
        }
        return out
    }

    /// Copies one image into the zero-padded buffer, channels split across threads.
    private func pad(_ x: UnsafeMutablePointer<Float>, into padded: UnsafeMutablePointer<Float>, height: Int, width: Int) {
        let paddedWidth = width + padding.left + padding.right
        let plane = (height + padding.top + padding.bottom) * paddedWidth
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
