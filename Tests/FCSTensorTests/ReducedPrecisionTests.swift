@testable import FCSTensor
import XCTest
import _FCSKernels

/// float16 and bfloat16 weights (``WeightPrecision``) against float32, and the bf16 arithmetic
/// against float32 arithmetic on bf16-rounded operands (which it must equal up to summation order:
/// the product of two bf16 values is exact in float32).
final class ReducedPrecisionTests: XCTestCase {
    let arena = ScratchArena()

    /// Shapes that reach every edge of the GEMM: odd k (a zero-padded bf16 pair), k past one k
    /// block (29 · 9 = 261 > 256) with an odd remainder, m and n not multiples of the tiles,
    /// stride 2, and Winograd.
    let convolutions: [(name: String, input: [Int], outChannels: Int, kernel: Int, stride: Int, padding: Int)] = [
        ("3 channels, k = 27", [1, 3, 9, 11], 13, 3, 1, 1),
        ("k = 261, two k blocks", [2, 29, 7, 10], 25, 3, 1, 1),
        ("stride 2", [1, 17, 12, 9], 30, 3, 2, 1),
        ("1×1", [1, 40, 6, 6], 50, 1, 1, 0),
        ("Winograd-sized", [1, 32, 18, 20], 48, 3, 1, 1),
    ]

    private func bf16Rounded(_ t: Tensor) -> Tensor {
        let values = t.toArray()
        var bits = [UInt16](repeating: 0, count: values.count), rounded = [Float](repeating: 0, count: values.count)
        FloatConversion.floatToBFloat16(values, &bits, count: values.count)
        FloatConversion.bfloat16ToFloat(bits, &rounded, count: values.count)
        return Tensor(shape: t.shape, values: rounded)
    }

    func test_bfloat16ImplicitGEMM_isFloat32ArithmeticOnRoundedOperands() {
        defer { _ = fcs_conv_gemm_select(nil) }
        for isa in ["avx512bf16", "avx512", "baseline"] {  // the vdpbf16ps kernel and the portable one
            guard fcs_conv_gemm_select(isa) == 0 else { continue }
            var random = NormalGenerator(seed: 7)
            for c in convolutions {
                let x = random.tensor(c.input), weight = random.tensor([c.outChannels, c.input[1], c.kernel, c.kernel], scale: 0.2)
                let bias = random.tensor([c.outChannels])
                let rounded = Conv2d(weight: bf16Rounded(weight), bias: bias, stride: c.stride, padding: c.padding,
                                     algorithm: .implicitGEMM)
                let bf16 = Conv2d(weight: weight, bias: bias, stride: c.stride, padding: c.padding, algorithm: .implicitGEMM,
                                  precision: .bfloat16)
                assertClose(bf16(x, in: arena), rounded(bf16Rounded(x), in: arena), relative: 2e-6, "\(c.name) \(isa)")
            }
        }
    }

    /// The bf16 error against float32 stays at bf16's resolution (2⁻⁸ relative per operand), and
    /// float16 weights of float32 values within float16's; F(4×4)'s transforms amplify bf16's
    /// about twofold (which is why Conv2d's automatic choice keeps F(2×2) for bf16 weights), while
    /// float16 layers form their transformed weights in float32, so only the weights' rounding counts.
    func test_reducedPrecisionConvolutions_stayCloseToFloat32() {
        var random = NormalGenerator(seed: 8)
        for c in convolutions {
            let x = random.tensor(c.input), weight = random.tensor([c.outChannels, c.input[1], c.kernel, c.kernel], scale: 0.2)
            var algorithms: [Conv2d.Algorithm] = [.implicitGEMM]
            if c.kernel == 3 && c.stride == 1 { algorithms += [.winograd, .winograd4x4] }
            for algorithm in algorithms {
                func conv(_ precision: WeightPrecision) -> Tensor {
                    Conv2d(weight: weight, bias: nil, stride: c.stride, padding: c.padding, algorithm: algorithm,
                           precision: precision)(x, in: arena)
                }
                let reference = conv(.float32), amplification: Float = algorithm == .winograd4x4 ? 2.5 : 1
                XCTAssertGreaterThan(relativeError(conv(.bfloat16), reference), 1e-4, "bf16 must round: \(c.name)")
                XCTAssertLessThan(relativeError(conv(.bfloat16), reference), 8e-3 * amplification, "\(c.name) \(algorithm) bf16")
                XCTAssertLessThan(relativeError(conv(.float16), reference), 1e-3, "\(c.name) \(algorithm) fp16")
            }
        }
    }

    /// Winograd layers with float16 weights keep the 3×3 weights and form each transformed matrix
    /// a cache block at a time in float32 (`fcs_winograd_gemm`): on weights that float16 holds
    /// exactly they give the float32 layer's result up to float32 rounding, on every micro-kernel
    /// (the AVX-512 combination of the taps and the portable one), across k blocks (270 input
    /// channels) and partial 12-row panels (25 outputs). They hold 9 values per kernel.
    func test_float16Winograd_formsItsTransformInFloat32() {
        defer { _ = fcs_conv_gemm_select(nil) }
        var random = NormalGenerator(seed: 13)
        let x = random.tensor([1, 270, 9, 11]), weight = random.tensor([25, 270, 3, 3], scale: 0.05)
        var halves = [UInt16](repeating: 0, count: weight.count), exact = [Float](repeating: 0, count: weight.count)
        fcs_f32_to_f16(weight.data, &halves, weight.count)
        fcs_f16_to_f32(halves, &exact, weight.count)
        let representable = Tensor(shape: weight.shape, values: exact), bias = random.tensor([25])
        for isa in ["avx512bf16", "avx512", "avx2", "baseline"] {
            guard fcs_conv_gemm_select(isa) == 0 else { continue }
            for algorithm in [Conv2d.Algorithm.winograd, .winograd4x4] {
                let half = Conv2d(weight: representable, bias: bias, padding: 1, algorithm: algorithm, precision: .float16)
                let full = Conv2d(weight: representable, bias: bias, padding: 1, algorithm: algorithm)
                assertClose(half(x, in: arena), full(x, in: arena), relative: 1e-5, "\(isa) \(algorithm)")
                XCTAssertEqual(half.packedWeight.bytes, 2 * 9 * 36 * 270, "\(algorithm): 3×3 weights, 36 rows of panels")
            }
        }
    }

    func test_reducedPrecisionLinear_matchesFloat32_inBothSplits() {
        var random = NormalGenerator(seed: 9)
        // more rows than features (the rows are split across threads), and fewer (features are);
        // 1031 features: k in three blocks, the last odd
        for (rows, inFeatures, outFeatures) in [(300, 70, 24), (5, 261, 100), (64, 320, 1280), (7, 1031, 40)] {
            let x = random.tensor([rows, inFeatures]), weight = random.tensor([outFeatures, inFeatures], scale: 0.1)
            let bias = random.tensor([outFeatures])
            let reference = Linear(weight: weight, bias: bias)(x, in: arena)
            let emulated = Linear(weight: bf16Rounded(weight), bias: bias)(bf16Rounded(x), in: arena)
            assertClose(Linear(weight: weight, bias: bias, precision: .bfloat16)(x, in: arena), emulated, relative: 2e-6,
                        "bf16 linear \(rows)×\(inFeatures)→\(outFeatures)")
            XCTAssertLessThan(relativeError(Linear(weight: weight, bias: nil, precision: .float16)(x, in: arena),
                                            Linear(weight: weight, bias: nil)(x, in: arena)), 1e-3)
            XCTAssertLessThan(relativeError(Linear(weight: weight, bias: bias, precision: .bfloat16)(x, in: arena), reference), 8e-3)
        }
    }

    /// bf16 attention across key tiles (600 keys: 512 + 88), odd key counts (77, CLIP's), odd head
    /// widths, rows that fill neither 12-row panels nor 32-row tiles; both bf16 micro-kernels.
    func test_bfloat16Attention_staysCloseToFloat32() {
        defer { _ = fcs_conv_gemm_select(nil) }
        for isa in ["avx512bf16", "baseline"] {
            guard fcs_conv_gemm_select(isa) == 0 else { continue }
            var random = NormalGenerator(seed: 10)
            for (batch, queries, keys, heads, d) in [(2, 100, 77, 2, 40), (1, 37, 600, 3, 7), (1, 130, 33, 1, 160)] {
                let q = random.tensor([batch, queries, heads * d]), k = random.tensor([batch, keys, heads * d])
                let v = random.tensor([batch, keys, heads * d])
                let reference = scaledDotProductAttention(query: q, key: k, value: v, heads: heads, in: arena)
                let bf16 = scaledDotProductAttention(query: q, key: k, value: v, heads: heads, precision: .bfloat16, in: arena)
                let error = relativeError(bf16, reference)
                XCTAssertLessThan(error, 1e-2, "\(isa) \(queries)×\(keys), \(heads) heads of \(d)")
                XCTAssertGreaterThan(error, 1e-4, "bf16 must round: \(isa) \(queries)×\(keys)")
            }
        }
    }

    /// A forward replaying a DifferenceTape differs from the recorded one by the float32
    /// difference (rounding error relative to the difference), where two plain bf16 forwards
    /// differ mostly by rounding noise.
    func test_differenceTape_keepsSmallDifferencesOfBFloat16Layers() {
        var random = NormalGenerator(seed: 12)
        let x = random.tensor([1, 32, 12, 12]), direction = random.tensor([1, 32, 12, 12], scale: 0.005)
        let perturbed = Tensor(shape: x.shape, values: zip(x.toArray(), direction.toArray()).map { $0 + $1 })
        let weight = random.tensor([24, 32, 3, 3], scale: 0.1), bias = random.tensor([24])
        let linearWeight = random.tensor([16, 12], scale: 0.3)
        for algorithm in [Conv2d.Algorithm.implicitGEMM, .winograd] {
            // a conv, a non-linearity (float32, on the tape's inputs as is), then a linear layer
            func network(_ precision: WeightPrecision) -> (Tensor) -> [Float] {
                let conv = Conv2d(weight: weight, bias: bias, padding: 1, algorithm: algorithm, precision: precision)
                let linear = Linear(weight: linearWeight, bias: nil, precision: precision)
                return { x in self.arena.scope { linear(silu(conv(x, in: self.arena), in: self.arena), in: self.arena).toArray() } }
            }
            let fp32 = network(.float32), bf16 = network(.bfloat16)
            let exact = zip(fp32(perturbed), fp32(x)).map { $0 - $1 }
            let plain = zip(bf16(perturbed), bf16(x)).map { $0 - $1 }
            let tape = DifferenceTape()
            arena.differenceTape = tape
            tape.beginRecording()
            let recorded = bf16(x)
            tape.beginReplay()
            let replayed = bf16(perturbed)
            arena.differenceTape = nil
            let taped = zip(replayed, recorded).map { $0 - $1 }
            let shape = [exact.count]
            XCTAssertGreaterThan(relativeError(Tensor(shape: shape, values: plain), Tensor(shape: shape, values: exact)), 0.1,
                                 "\(algorithm): plain bf16 differences should be noisy")
            XCTAssertLessThan(relativeError(Tensor(shape: shape, values: taped), Tensor(shape: shape, values: exact)), 2e-2,
                              "\(algorithm): the tape keeps the difference")
            XCTAssertGreaterThan(tape.bytes, 0)
        }
    }

    /// FeedForward's pattern, linear → GEGLU → linear: the tape keeps nothing of the second layer's
    /// input, yet replaying the recorded input gives the recorded output bit for bit and a perturbed
    /// input the float32 difference. A function that does not give the input leaves it kept.
    func test_differenceTape_derivesAnInputFromThePreviousOutput() {
        var random = NormalGenerator(seed: 13)
        let x = random.tensor([1, 20, 16]), direction = random.tensor([1, 20, 16], scale: 0.005)
        let perturbed = Tensor(shape: x.shape, values: zip(x.toArray(), direction.toArray()).map { $0 + $1 })
        let projectionWeight = random.tensor([48, 16], scale: 0.25), projectionBias = random.tensor([48])
        let outputWeight = random.tensor([8, 24], scale: 0.2)
        func network(_ precision: WeightPrecision, derive: ((Tensor) -> Tensor)?) -> (Tensor) -> [Float] {
            let projection = Linear(weight: projectionWeight, bias: projectionBias, precision: precision)
            let output = Linear(weight: outputWeight, bias: nil, precision: precision)
            return { x in
                self.arena.scope {
                    let gated = geglu(projection(x, in: self.arena), in: self.arena)
                    let recorded = derive.flatMap { derive in RecordedValue.lastOutput(in: self.arena)?.map(derive) }
                    return output(gated, in: self.arena, recordedInput: recorded).toArray()
                }
            }
        }
        let exact: [Float] = {
            let fp32 = network(.float32, derive: nil)
            return zip(fp32(perturbed), fp32(x)).map { $0 - $1 }
        }()
        func taped(derive: @escaping (Tensor) -> Tensor) -> (difference: [Float], unchanged: Bool, bytes: Int) {
            let bf16 = network(.bfloat16, derive: derive), tape = DifferenceTape()
            arena.differenceTape = tape
            defer { arena.differenceTape = nil }
            tape.beginRecording()
            let recorded = bf16(x)
            tape.beginReplay()
            let replayedUnchanged = bf16(x)
            tape.beginReplay()
            return (zip(bf16(perturbed), recorded).map { $0 - $1 }, replayedUnchanged == recorded, tape.bytes)
        }
        let derived = taped(derive: { geglu($0, in: self.arena) })
        // not what computed the input (same shape, other values): x must be kept
        let kept = taped(derive: { geglu(silu($0, in: self.arena), in: self.arena) })
        let shape = [exact.count]
        for (name, run) in [("derived", derived), ("kept", kept)] {
            XCTAssertTrue(run.unchanged, "\(name): replaying the recorded input gives the recorded output")
            XCTAssertLessThan(relativeError(Tensor(shape: shape, values: run.difference), Tensor(shape: shape, values: exact)), 2e-2,
                              "\(name): the tape keeps the difference")
        }
        XCTAssertEqual(kept.bytes - derived.bytes, 4 * 20 * 24, "the derived input (20 × 24 floats) is not kept")
    }

    func test_reducedPrecisionWeights_takeHalfTheMemory() {
        let weight = Tensor(zeros: [64, 32, 3, 3])
        let bytes32 = Conv2d(weight: weight, bias: nil, padding: 1, algorithm: .implicitGEMM).packedWeight.bytes
        for precision in [WeightPrecision.float16, .bfloat16] {
            XCTAssertEqual(Conv2d(weight: weight, bias: nil, padding: 1, algorithm: .implicitGEMM, precision: precision)
                .packedWeight.bytes * 2, bytes32)
        }
    }

    /// ‖a − b‖ / ‖b‖.
    private func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
        let x = a.toArray(), y = b.toArray()
        var difference: Float = 0, norm: Float = 0
        for i in y.indices {
            difference += (x[i] - y[i]) * (x[i] - y[i])
            norm += y[i] * y[i]
        }
        return (difference / norm).squareRoot()
    }
}
