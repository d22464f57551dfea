import _FCSKernels

/// `torch.nn.Conv2d` (groups = 1, dilation = 1) on NCHW tensors.
///
/// Two algorithms, chosen at creation (weights are transformed and packed once, then):
/// * Winograd for stride-1 3×3 convolutions: ``Algorithm-swift.enum/winograd`` — F(2×2, 3×3),
///   2.25× fewer multiply-adds, as 16 GEMMs over transformed 4×4 input tiles, for 16/9 of the
///   weight memory; ``Algorithm-swift.enum/winograd4x4`` — F(4×4, 3×3), 4× fewer, as 36 GEMMs over
///   6×6 tiles, for 4× the weight memory and about ten times F(2×2)'s rounding error. (With
///   16-bit weights both keep the 3×3 weights and transform them inside the GEMM.)
/// * ``Algorithm-swift.enum/implicitGEMM`` — any shape: one GEMM (`fcs_conv_gemm`) that
///   gathers the zero-padded input straight into cache-sized panels, so no im2col matrix is
///   ever formed and the output is written once.
///
/// Both run over windows of output rows whose padded input and transforms fit 64 MB, so any
/// image that fits in memory runs, with bounded scratch and 32-bit kernel offsets, and gives the
/// same bits as it would in one window.
public struct Conv2d: Sendable {
    public enum Algorithm: Sendable {
        /// Winograd where it applies (3×3, stride 1, at least 16 input and output channels —
        /// below that the transforms cost more than they save), else implicit GEMM. Winograd is
        /// F(4×4) for float32 weights and F(2×2) for 16-bit ones (see `automaticWinograd`).
        case automatic
        /// As ``automatic``, but F(2×2) where Winograd applies to float32 weights: for layers whose
        /// F(4×4) weights (4× the direct convolution's, against F(2×2)'s 16/9) would cost more
        /// memory than its speed is worth. 16-bit layers keep their 3×3 weights whichever variant
        /// runs, so for them it is ``automatic``.
        case automaticF2
        case implicitGEMM
        /// F(2×2, 3×3). Only valid for 3×3 kernels with stride 1.
        case winograd
        /// F(4×4, 3×3). Only valid for 3×3 kernels with stride 1.
        case winograd4x4

        /// The side of a Winograd output tile (2 or 4); nil for the others.
        public var winogradOutputTile: Int? {
            switch self {
            case .winograd: 2
            case .winograd4x4: 4
            case .automatic, .automaticF2, .implicitGEMM: nil
            }
        }

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
    /// layout. Winograd with float32 weights: the α² (16 or 36) transformed [out, in] matrices,
    /// each so packed; with 16-bit weights: the 3×3 kernels themselves (``winogradCoefficients``).
    /// Its precision is the layer's: bfloat16 rounds the input (Winograd: its transform) to bf16.
    let packedWeight: StoredWeights
    /// Winograd with 16-bit weights: `[α², 9]`, the transform of each unit kernel, from which
    /// `fcs_winograd_gemm` forms each transformed matrix a cache block at a time. Kept this way, the
    /// weights take 9 values per kernel instead of 16 (F(2×2)) or 36 (F(4×4)) — SD 1.5's UNet and
    /// VAE hold 0.17 GiB less in 16 bits — and a float16 layer's transformed weights are float32,
    /// never rounded to 16 bits, which is what lets it run F(4×4). nil otherwise.
    let winogradCoefficients: Tensor?
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
        precondition(algorithm.winogradOutputTile == nil || winogradApplies, "Conv2d: Winograd needs a 3×3 kernel and stride 1")
        if algorithm == .automatic || algorithm == .automaticF2 {
            let winograd = algorithm == .automaticF2 && precision == .float32 ? .winograd : Conv2d.automaticWinograd(precision: precision)
            self.algorithm = winogradApplies && inChannels >= 16 && outChannels >= 16 ? winograd : .implicitGEMM
        } else {
            self.algorithm = algorithm
        }
        if let tile = self.algorithm.winogradOutputTile,
           let kernels = StoredWeights(kernels: source.data, rows: outChannels, columns: inChannels, precision: precision) {
            packedWeight = kernels
            let unitKernels = Tensor(zeros: [9, 1, 3, 3])
            for tap in 0..<9 { unitKernels.data[tap * 9 + tap] = 1 }
            winogradCoefficients = Conv2d.winogradWeightTransform(tile: tile, unitKernels)  // [α², 9, 1]
        } else if let tile = self.algorithm.winogradOutputTile {
            let transformed = Conv2d.winogradWeightTransform(tile: tile, source)
            packedWeight = StoredWeights(matrices: (tile + 2) * (tile + 2), rows: transformed.shape[1], columns: transformed.shape[2],
                                         source: transformed.data, precision: precision)
            withExtendedLifetime(transformed) {}  // the packing read it through a pointer
            winogradCoefficients = nil
        } else {
            packedWeight = StoredWeights(rows: outChannels, columns: inChannels * kernelHeight * kernelWidth,
                                         source: source.data, precision: precision)
            winogradCoefficients = nil
        }
        withExtendedLifetime(source) {}  // a copy's storage must outlive the packing that read its pointer
    }

    /// `[out, in, 3, 3]` weights → the `[α², out, in]` matrices of F(`tile`×`tile`, 3×3).
    private static func winogradWeightTransform(tile: Int, _ weight: Tensor) -> Tensor {
        let (outChannels, inChannels) = (weight.shape[0], weight.shape[1])
        let transformed = Tensor(zeros: [(tile + 2) * (tile + 2), outChannels, inChannels])
        if tile == 4 {
            fcs_winograd_f4_weight_transform(weight.data, outChannels, inChannels, transformed.data)
        } else {
            fcs_winograd_f2_weight_transform(weight.data, outChannels, inChannels, transformed.data)
        }
        return transformed
    }

    /// The Winograd variant ``Algorithm-swift.enum/automatic`` picks for a layer of `precision`
    /// (unless ``automaticWinogradOverride`` says otherwise): F(4×4) for float32 and float16
    /// weights, where its error against a float64 direct convolution stays within the conv
    /// fixtures' 1e-5 (2–4e-6 on SD 1.5's layers, `fcs bench winograd`) and it was faster on every
    /// SD layer shape with both the AVX2 and the AVX-512 micro-kernels (float16 layers form their
    /// transformed weights in float32, see ``winogradCoefficients``); F(2×2) for bfloat16, whose
    /// rounding of the transformed weights and inputs F(4×4)'s output transform amplifies past its
    /// tolerance (1.5–1.7e-2 against 8e-3 relative to float32 weights).
    static func automaticWinograd(precision: WeightPrecision) -> Algorithm {
        if let automaticWinogradOverride { return automaticWinogradOverride }
        return precision == .bfloat16 ? .winograd : .winograd4x4
    }

    /// Benchmarks only (not thread-safe; set before layers are made): the Winograd variant
    /// ``Algorithm-swift.enum/automatic`` uses instead of the measured choice, to time both.
    nonisolated(unsafe) public static var automaticWinogradOverride: Algorithm?

    /// Convenience: symmetric padding.
    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int, algorithm: Algorithm = .automatic,
                precision: WeightPrecision = .float32) {
        self.init(weight: weight, bias: bias, stride: stride, padding: .all(padding), algorithm: algorithm, precision: precision)
    }

    /// How the layer keeps its weights and computes.
    public var precision: WeightPrecision { packedWeight.precision }

    /// The output shape for an input shape `[N, C, H, W]`.
    public func outputShape(_ input: [Int]) -> [Int] {
        let paddedHeight = input[2] + padding.top + padding.bottom
        let paddedWidth = input[3] + padding.left + padding.right
        return [input[0], outChannels, (paddedHeight - kernelHeight) / stride + 1, (paddedWidth - kernelWidth) / stride + 1]
    }

    /// - Parameters:
    ///   - x: `[N, in, H, W]`, contiguous.
    ///   - recordedInput: where x is computed from outputs a ``DifferenceTape`` recorded earlier in
    ///     this forward, how, so that the tape need not keep x.
    /// - Returns: `[N, out, Ho, Wo]` in `arena`.
    public func callAsFunction(_ x: Tensor, in arena: ScratchArena, recordedInput: RecordedValue? = nil) -> Tensor {
        let timing = OperationProfile.start(profileKind, flops: profileFLOPs(x))
        defer { timing.stop() }
        return callAsFunction(x, limits: defaultLimits, in: arena, recordedInput: recordedInput)
    }

    /// Inputs of any size run in windows of output rows (or, for very wide images, of columns
    /// within one row) so that each window's scratch (its padded input copy, its transforms) and
    /// every Int32 offset the kernels take stay within these limits. Results do not depend on
    /// them: each output is summed in the same order whatever the windows. Tests lower them to
    /// run the windowed paths on small inputs.
    struct WindowLimits {
        /// Scratch floats per window (64 MB).
        var scratchFloats = 16 << 20
        /// The largest offset a kernel's Int32 index tables may hold.
        var offsets = Int(Int32.max)
    }

    /// The limits layers run with. Layers of at most 128 channels get 16 MB windows, which stay
    /// in a server CPU's L3 cache: with few channels each transformed value feeds few multiply-adds,
    /// so Winograd's transforms and packing are bound by memory traffic (TAESD's 64-channel layers
    /// at 512²: encode and decode 20–40 % faster than with 64 MB windows, `fcs bench models`). Wider
    /// layers are bound by their multiply-adds and keep the larger windows, whose GEMMs are wider
    /// (SD's UNet was a few % slower with 16 MB ones).
    var defaultLimits: WindowLimits {
        max(inChannels, outChannels) <= 128 ? WindowLimits(scratchFloats: 4 << 20) : WindowLimits()
    }

    func callAsFunction(_ x: Tensor, limits: WindowLimits, in arena: ScratchArena, recordedInput: RecordedValue? = nil) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == inChannels && x.isContiguous,
                     "Conv2d: expected contiguous [N, \(inChannels), H, W], got \(x.shape)")
        if packedWeight.precision == .bfloat16, let tape = arena.differenceTape {
            return tape.run(x, in: arena, recordedInput: recordedInput, operation: { convolve($0, bias: bias, limits: limits, in: arena) },
                            linearPart: { convolve($0, bias: nil, limits: limits, in: arena) })
        }
        return convolve(x, bias: bias, limits: limits, in: arena)
    }

    private func convolve(_ x: Tensor, bias: Tensor?, limits: WindowLimits, in arena: ScratchArena) -> Tensor {
        let out = arena.tensor(outputShape(x.shape))
        for image in 0..<x.shape[0] {
            let input = x.data + image * x.strides[0], result = out.data + image * out.strides[0]
            arena.scope {  // each image's scratch is released before the next one's
                if let tile = algorithm.winogradOutputTile {
                    winograd(tile: tile, input, result, height: x.shape[2], width: x.shape[3], bias: bias, limits: limits,
                             arena: arena)
                } else {
                    implicitGEMM(input, result, height: x.shape[2], width: x.shape[3], bias: bias, limits: limits, arena: arena)
                }
            }
        }
        return out
    }

    /// The most scratch floats one call allocates (and releases before it returns) per image of
    /// `height × width`, beside its `[N, out, Ho, Wo]` result: for working-set estimates.
    public func scratchFloats(height: Int, width: Int) -> Int {
        scratchFloats(height: height, width: width, limits: defaultLimits)
    }

    func scratchFloats(height: Int, width: Int, limits: WindowLimits) -> Int {
        let plan = plan(height: height, width: width, limits: limits), gemm = fcs_conv_gemm_scratch_size()
        let points = algorithm.winogradOutputTile.map { ($0 + 2) * ($0 + 2) } ?? 0  // Winograd's α² matrices
        let sizes = points > 0
            ? [plan.windowFloats, points * Conv2d.winogradMatrixStride(inChannels * plan.windowPixels),
               points * Conv2d.winogradMatrixStride(outChannels * plan.windowPixels),
               inChannels, plan.windowPixels, min(ComputeThreads.count, points) * gemm]
            : [inChannels * kernelHeight * kernelWidth, plan.windowPixels, plan.windowFloats, ComputeThreads.count * gemm]
        return sizes.filter { $0 > 0 }.reduce(0) { $0 + ScratchArena.alignedFloats($1) }
    }

    /// How one image is cut into windows, and the largest window's scratch.
    private struct Plan {
        let windows: [Window]
        /// Implicit GEMM reads the unpadded input where it is (no copy).
        let inPlace: Bool
        /// Floats of the largest window's input copy (0 in place; Winograd: its padded input).
        let windowFloats: Int
        /// Output positions (Winograd: tiles) of the largest window.
        let windowPixels: Int
    }

    private func plan(height: Int, width: Int, limits: WindowLimits) -> Plan {
        let output = outputShape([1, inChannels, height, width])
        let budget = min(limits.scratchFloats, limits.offsets)
        let windows: [Window], inPlace: Bool, copyFloats: (Window) -> Int
        if let tile = algorithm.winogradOutputTile {
            // A window of r × c tiles of m × m reads (m·r + 2) × (m·c + 2) padded inputs (zeros past
            // the padding where the output size is no multiple of m) and transforms them to α²
            // [in, tiles] and α² [out, tiles] matrices.
            let points = (tile + 2) * (tile + 2)
            inPlace = false
            copyFloats = { inChannels * (tile * $0.rows + 2) * (tile * $0.columns + 2) }
            windows = Conv2d.windows(rows: (output[2] + tile - 1) / tile, columns: (output[3] + tile - 1) / tile,
                                     budget: budget) { rows, columns in
                inChannels * (tile * rows + 2) * (tile * columns + 2) + points * (inChannels + outChannels) * rows * columns
            }
        } else {
            // An unpadded input whose channel offsets fit Int32 is read in place (its windows only
            // bound the pixel-offset table); any other is copied window by window with its padding.
            inPlace = padding == .all(0) && inChannels * height * width <= limits.offsets
            copyFloats = { inPlace ? 0 : inChannels * windowHeight($0) * windowWidth($0) }
            windows = Conv2d.windows(rows: output[2], columns: output[3], budget: budget) { rows, columns in
                inPlace ? rows * columns : inChannels * ((rows - 1) * stride + kernelHeight) * ((columns - 1) * stride + kernelWidth)
            }
        }
        return Plan(windows: windows, inPlace: inPlace, windowFloats: windows.map(copyFloats).max() ?? 0,
                    windowPixels: windows.map { $0.rows * $0.columns }.max() ?? 0)
    }

    /// A block of output positions computed in one go: `rows` whole rows from `row0`, or (when a
    /// single row is too wide for the budget) `columns` of one row from `column0`.
    private struct Window {
        let row0, rows, column0, columns: Int
    }

    /// Windows covering `rows × columns` output positions, as large as `cost(rows, columns)` ≤ `budget` allows.
    private static func windows(rows totalRows: Int, columns totalColumns: Int, budget: Int,
                                cost: (_ rows: Int, _ columns: Int) -> Int) -> [Window] {
        func largest(_ limit: Int, fits: (Int) -> Bool) -> Int {  // the largest count in 1...limit that fits (at least 1)
            var (low, high) = (1, limit)
            while low < high {
                let middle = (low + high + 1) / 2
                if fits(middle) { low = middle } else { high = middle - 1 }
            }
            return low
        }
        var result: [Window] = []
        if cost(1, totalColumns) <= budget {
            let rows = largest(totalRows) { cost($0, totalColumns) <= budget }
            for row0 in Swift.stride(from: 0, to: totalRows, by: rows) {
                result.append(Window(row0: row0, rows: min(rows, totalRows - row0), column0: 0, columns: totalColumns))
            }
        } else {
            let columns = largest(totalColumns) { cost(1, $0) <= budget }
            for row0 in 0..<totalRows {
                for column0 in Swift.stride(from: 0, to: totalColumns, by: columns) {
                    result.append(Window(row0: row0, rows: 1, column0: column0, columns: min(columns, totalColumns - column0)))
                }
            }
        }
        return result
    }

    private func implicitGEMM(_ input: UnsafeMutablePointer<Float>, _ result: UnsafeMutablePointer<Float>,
                              height: Int, width: Int, bias: Tensor?, limits: WindowLimits, arena: ScratchArena) {
        let outShape = outputShape([1, inChannels, height, width])
        let (outHeight, outWidth) = (outShape[2], outShape[3])
        let taps = kernelHeight * kernelWidth, (m, k) = (outChannels, inChannels * taps)
        let plan = plan(height: height, width: width, limits: limits), inPlace = plan.inPlace
        let kOffset = arena.scratchInt32(k), nOffset = arena.scratchInt32(plan.windowPixels)
        let copy = inPlace ? nil : arena.scratch(plan.windowFloats)
        let scratchSize = fcs_conv_gemm_scratch_size()
        let gemmScratch = arena.scratch(ComputeThreads.count * scratchSize)
        var (tableHeight, tableWidth) = (-1, -1)
        for window in plan.windows {
            // B[c·taps + tap, pixel] = source[c·plane + (tap row)·sourceWidth + tap column + nOffset[pixel]]
            let sourceHeight = inPlace ? height : windowHeight(window), sourceWidth = inPlace ? width : windowWidth(window)
            let source: UnsafeMutablePointer<Float>
            if let copy {
                copyWindow(input, into: copy, height: height, width: width, row0: window.row0 * stride - padding.top,
                           column0: window.column0 * stride - padding.left, windowHeight: sourceHeight, windowWidth: sourceWidth)
                source = copy
            } else {
                source = input + window.row0 * stride * width + window.column0 * stride
            }
            if (tableHeight, tableWidth) != (sourceHeight, sourceWidth) {
                (tableHeight, tableWidth) = (sourceHeight, sourceWidth)
                let plane = sourceHeight * sourceWidth
                for c in 0..<inChannels {
                    for tap in 0..<taps {
                        kOffset[c * taps + tap] = Int32(c * plane + tap / kernelWidth * sourceWidth + tap % kernelWidth)
                    }
                }
            }
            for row in 0..<window.rows {
                for column in 0..<window.columns {
                    nOffset[row * window.columns + column] = Int32(row * stride * sourceWidth + column * stride)
                }
            }
            // Pixel j of the window is output j of its first row: windows of several rows span whole rows.
            let n = window.rows * window.columns, ldc = outHeight * outWidth
            let output = result + window.row0 * outWidth + window.column0
            if let bias {
                for o in 0..<m { (output + o * ldc).update(repeating: bias.data[o], count: n) }
            }
            packedWeight.multiply(n: n, input: source, kOffset: kOffset, nOffset: nOffset, into: output, ldc: ldc,
                                  accumulate: bias != nil, scratch: gemmScratch)
        }
    }

    /// Input rows and columns an implicit-GEMM window reads.
    private func windowHeight(_ window: Window) -> Int { (window.rows - 1) * stride + kernelHeight }
    private func windowWidth(_ window: Window) -> Int { (window.columns - 1) * stride + kernelWidth }

    /// F(`tile`×`tile`, 3×3) window by window: the input transform, α² GEMMs, the output transform.
    private func winograd(tile: Int, _ input: UnsafeMutablePointer<Float>, _ result: UnsafeMutablePointer<Float>,
                          height: Int, width: Int, bias: Tensor?, limits: WindowLimits, arena: ScratchArena) {
        let outShape = outputShape([1, inChannels, height, width])
        let (outHeight, outWidth) = (outShape[2], outShape[3])
        let plan = plan(height: height, width: width, limits: limits), maxTiles = plan.windowPixels
        let points = (tile + 2) * (tile + 2)
        let inputTransform = tile == 4 ? fcs_winograd_f4_input_transform : fcs_winograd_f2_input_transform
        let outputTransform = tile == 4 ? fcs_winograd_f4_output_transform : fcs_winograd_f2_output_transform
        let padded = arena.scratch(plan.windowFloats)
        let vStride = Conv2d.winogradMatrixStride(inChannels * maxTiles), mStride = Conv2d.winogradMatrixStride(outChannels * maxTiles)
        let v = arena.scratch(points * vStride), m = arena.scratch(points * mStride)
        let kOffset = arena.scratchInt32(inChannels), nOffset = arena.scratchInt32(maxTiles)
        for t in 0..<maxTiles { nOffset[t] = Int32(t) }
        let parts = min(ComputeThreads.count, points)
        let scratchSize = fcs_conv_gemm_scratch_size()
        let gemmScratch = arena.scratch(parts * scratchSize)
        let panelType = packedWeight.precision.panelType
        for window in plan.windows {
            let tiles = window.rows * window.columns
            let bufferHeight = tile * window.rows + 2, bufferWidth = tile * window.columns + 2, plane = bufferHeight * bufferWidth
            copyWindow(input, into: padded, height: height, width: width, row0: tile * window.row0 - padding.top,
                       column0: tile * window.column0 - padding.left, windowHeight: bufferHeight, windowWidth: bufferWidth)
            for c in 0..<inChannels { kOffset[c] = Int32(c * tiles) }
            ComputeThreads.forEachRange(inChannels) { channels in
                inputTransform(padded + channels.lowerBound * plane, channels.count, bufferHeight, bufferWidth,
                               0, window.rows, window.columns, v + channels.lowerBound * tiles, tiles, vStride)
            }
            ComputeThreads.run(maxParts: parts) { part, parts in
                for xi in ComputeThreads.partRange(points, part: part, parts: parts) {
                    if let winogradCoefficients {
                        fcs_winograd_gemm(winogradCoefficients.data + 9 * xi, outChannels, tiles, inChannels, panelType,
                                          packedWeight.panels(), v + xi * vStride, kOffset, nOffset, m + xi * mStride, tiles,
                                          gemmScratch + part * scratchSize)
                    } else {
                        fcs_conv_gemm(outChannels, tiles, inChannels, panelType, packedWeight.panels(xi), v + xi * vStride,
                                      kOffset, nOffset, m + xi * mStride, tiles, 0, 0, gemmScratch + part * scratchSize)
                    }
                }
            }
            let firstColumn = tile * window.column0
            ComputeThreads.forEachRange(outChannels) { channels in
                outputTransform(m + channels.lowerBound * tiles, channels.count, tiles, mStride,
                                window.row0, window.rows, window.columns, bias.map { $0.data + channels.lowerBound },
                                result + channels.lowerBound * outHeight * outWidth + firstColumn,
                                outHeight * outWidth, outWidth, outHeight, outWidth - firstColumn)
            }
        }
    }

    /// Floats between consecutive ξ matrices of `floats` each in the Winograd scratch: one cache
    /// line past a multiple of 4 KB. The transforms read or write all 16 matrices at once, and at
    /// a packed distance that is a multiple of 4 KB (32 channels × 32² tiles, a 64² image) the 16
    /// streams share one L1 set and the input transform runs 7× slower (measured: 45 against 6 ns
    /// per tile and channel).
    static func winogradMatrixStride(_ floats: Int) -> Int { (floats + 1023) / 1024 * 1024 + 16 }

    /// Copies the `windowHeight × windowWidth` block of one image whose top-left corner is input
    /// row `row0`, column `column0` (negative inside the padding), with zeros wherever it falls
    /// outside the image; channels split across threads.
    private func copyWindow(_ x: UnsafeMutablePointer<Float>, into window: UnsafeMutablePointer<Float>, height: Int, width: Int,
                            row0: Int, column0: Int, windowHeight: Int, windowWidth: Int) {
        let plane = windowHeight * windowWidth
        let firstRow = max(row0, 0), endRow = max(min(row0 + windowHeight, height), firstRow)
        let firstColumn = max(column0, 0), endColumn = min(column0 + windowWidth, width)
        ComputeThreads.forEachRange(inChannels, minimumPerPart: 8) { channels in
            (window + channels.lowerBound * plane).update(repeating: 0, count: channels.count * plane)
            guard firstColumn < endColumn else { return }
            for c in channels {
                for row in firstRow..<endRow {
                    (window + c * plane + (row - row0) * windowWidth + (firstColumn - column0))
                        .update(from: x + (c * height + row) * width + firstColumn, count: endColumn - firstColumn)
                }
            }
        }
    }
}
