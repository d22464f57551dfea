/// `F.interpolate(x, scale_factor=2, mode="nearest")` on `[N, C, H, W]`.
public func upsampleNearest2x(_ x: Tensor, in arena: ScratchArena) -> Tensor {
    let timing = OperationProfile.start(.elementwise)
    defer { timing.stop() }
    precondition(x.rank == 4 && x.isContiguous, "upsampleNearest2x: expected contiguous [N, C, H, W]")
    let (planes, height, width) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
    let out = arena.tensor([x.shape[0], x.shape[1], height * 2, width * 2])
    ComputeThreads.forEachRange(planes, minimumPerPart: 4) { range in
        for plane in range {
            for row in 0..<height {
                let source = x.data + (plane * height + row) * width
                let destination = out.data + (plane * height * 2 + row * 2) * width * 2
                for col in 0..<width {
                    destination[2 * col] = source[col]
                    destination[2 * col + 1] = source[col]
                }
                (destination + width * 2).update(from: destination, count: width * 2)
            }
        }
    }
    return out
}

/// `F.avg_pool2d(x, kernel_size, stride)` on `[N, C, H, W]` (no padding, floor mode).
public func avgPool2d(_ x: Tensor, kernelSize: Int, stride: Int, in arena: ScratchArena) -> Tensor {
    let timing = OperationProfile.start(.elementwise)
    defer { timing.stop() }
    precondition(x.rank == 4 && x.isContiguous && kernelSize >= 1 && stride >= 1
                 && x.shape[2] >= kernelSize && x.shape[3] >= kernelSize, "avgPool2d: bad input \(x.shape)")
    let (planes, height, width) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
    let outHeight = (height - kernelSize) / stride + 1, outWidth = (width - kernelSize) / stride + 1
    let out = arena.tensor([x.shape[0], x.shape[1], outHeight, outWidth])
    let scale = 1 / Float(kernelSize * kernelSize)
    ComputeThreads.forEachRange(planes, minimumPerPart: 4) { range in
        for plane in range {
            let source = x.data + plane * height * width
            for row in 0..<outHeight {
                for col in 0..<outWidth {
                    var sum: Float = 0
                    for i in 0..<kernelSize {
                        for j in 0..<kernelSize { sum += source[(row * stride + i) * width + col * stride + j] }
                    }
                    out.data[(plane * outHeight + row) * outWidth + col] = sum * scale
                }
            }
        }
    }
    return out
}
