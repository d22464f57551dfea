import FCSTensor
import XCTest
import _FCSKernels

/// Every kernel against PyTorch (fixtures from tools/make_kernel_fixtures.py).
final class KernelParityTests: XCTestCase {
    let arena = ScratchArena()

    func test_conv2d_matchesPyTorch() throws {
        try assertConvolutionsMatchPyTorch()
    }

    /// Each micro-kernel this CPU can run (the best one is what the other tests use).
    func test_conv2d_everyMicroKernelMatchesPyTorch() throws {
        defer { _ = fcs_conv_gemm_select(nil) }
        for isa in ["avx512bf16", "avx512", "avx2", "baseline"] {
            guard fcs_conv_gemm_select(isa) == 0 else { continue }
            try assertConvolutionsMatchPyTorch(isa)
        }
    }

    private func assertConvolutionsMatchPyTorch(_ label: String = "") throws {
        for name in ["conv2d_3x3_s1_p1", "conv2d_1x1", "conv2d_3x3_s2_p1", "conv2d_3x3_s2_pad0101",
                     "conv2d_k5_p2_nobias", "conv2d_3x3_s1_p1_wide"] {
            let f = try KernelFixture(name)
            let padding = Conv2d.Padding(top: f.int("pad_top"), bottom: f.int("pad_bottom"),
                                         left: f.int("pad_left"), right: f.int("pad_right"))
            let weight = try f.tensor("weight"), bias = try f.optionalTensor("bias")
            var algorithms: [Conv2d.Algorithm] = [.automatic, .implicitGEMM]
            if weight.shape[2] == 3 && weight.shape[3] == 3 && f.int("stride") == 1 { algorithms += [.winograd, .winograd4x4] }
            for algorithm in algorithms {
                let conv = Conv2d(weight: weight, bias: bias, stride: f.int("stride"), padding: padding, algorithm: algorithm)
                assertClose(conv(try f.tensor("x"), in: arena), try f.tensor("out"), "\(name) \(algorithm) \(label)")
            }
        }
    }

    /// F(4×4) for float32 and float16 weights; F(2×2) for bfloat16 ones, whose rounding F(4×4)
    /// amplifies. `automaticF2` keeps F(2×2) for float32 weights only (the others hold 3×3 weights).
    func test_conv2d_automaticChoosesWinogradForWide3x3() throws {
        let f = try KernelFixture("conv2d_3x3_s1_p1_wide")
        func algorithm(_ precision: WeightPrecision, _ choice: Conv2d.Algorithm = .automatic) throws -> Conv2d.Algorithm {
            Conv2d(weight: try f.tensor("weight"), bias: nil, padding: 1, algorithm: choice, precision: precision).algorithm
        }
        XCTAssertEqual(try algorithm(.float32), .winograd4x4)
        XCTAssertEqual(try algorithm(.float16), .winograd4x4)
        XCTAssertEqual(try algorithm(.bfloat16), .winograd)
        XCTAssertEqual(try algorithm(.float32, .automaticF2), .winograd)
        XCTAssertEqual(try algorithm(.float16, .automaticF2), .winograd4x4)
        XCTAssertEqual(try algorithm(.bfloat16, .automaticF2), .winograd)
        let small = try KernelFixture("conv2d_3x3_s1_p1")
        XCTAssertEqual(Conv2d(weight: try small.tensor("weight"), bias: nil, padding: 1).algorithm, .implicitGEMM)
    }

    func test_linear_matchesPyTorch() throws {
        let f = try KernelFixture("linear")
        let linear = Linear(weight: try f.tensor("weight"), bias: try f.tensor("bias"))
        assertClose(linear(try f.tensor("x"), in: arena), try f.tensor("out"), "linear")
    }

    func test_matmul_and_bmm_matchPyTorch() throws {
        let m = try KernelFixture("matmul")
        assertClose(matmul(try m.tensor("a"), try m.tensor("b"), in: arena), try m.tensor("out"), "matmul")
        let b = try KernelFixture("bmm")
        assertClose(batchedMatmul(try b.tensor("a"), try b.tensor("b"), in: arena), try b.tensor("out"), "bmm")
    }

    func test_groupNorm_matchesPyTorch() throws {
        for name in ["group_norm", "group_norm_silu", "group_norm_offset"] {
            let f = try KernelFixture(name)
            let norm = GroupNorm(groups: f.int("groups"), weight: try f.tensor("weight"), bias: try f.tensor("bias"),
                                 eps: f.float("eps"))
            assertClose(norm(try f.tensor("x"), silu: f.int("silu") == 1, in: arena), try f.tensor("out"), name)
        }
    }

    func test_layerNorm_matchesPyTorch() throws {
        let f = try KernelFixture("layer_norm")
        let norm = LayerNorm(weight: try f.tensor("weight"), bias: try f.tensor("bias"), eps: f.float("eps"))
        assertClose(norm(try f.tensor("x"), in: arena), try f.tensor("out"), "layer_norm")
    }

    func test_softmax_matchesPyTorch() throws {
        let f = try KernelFixture("softmax")
        assertClose(softmax(try f.tensor("x"), in: arena), try f.tensor("out"), "softmax")
    }

    func test_activations_matchPyTorch() throws {
        let cases: [(String, (Tensor) -> Tensor)] = [
            ("silu", { silu($0, in: self.arena) }),
            ("gelu", { gelu($0, in: self.arena) }),
            ("gelu_tanh", { gelu($0, approximate: .tanh, in: self.arena) }),
            ("quick_gelu", { quickGELU($0, in: self.arena) }),
            ("geglu", { geglu($0, in: self.arena) }),
        ]
        for (name, op) in cases {
            let f = try KernelFixture(name)
            assertClose(op(try f.tensor("x")), try f.tensor("out"), name)
        }
    }

    func test_resampling_and_concat_matchPyTorch() throws {
        let up = try KernelFixture("upsample_nearest2x")
        XCTAssertEqual(upsampleNearest2x(try up.tensor("x"), in: arena).toArray(), try up.tensor("out").toArray())
        let pool = try KernelFixture("avg_pool2d")
        assertClose(avgPool2d(try pool.tensor("x"), kernelSize: pool.int("kernel"), stride: pool.int("stride"), in: arena),
                    try pool.tensor("out"), "avg_pool2d")
        let cat = try KernelFixture("concat_channels")
        XCTAssertEqual(concatChannels([try cat.tensor("a"), try cat.tensor("b")], in: arena).toArray(),
                       try cat.tensor("out").toArray())
    }

    func test_broadcastingAddAndMultiply_matchPyTorch() throws {
        for name in ["add_same", "add_bcast_channel", "add_bcast_last", "add_bcast_both", "mul_bcast_batch"] {
            let f = try KernelFixture(name)
            let a = try f.tensor("a"), b = try f.tensor("b")
            let result = f.file.metadata["op"] == "mul" ? multiply(a, b, in: arena) : add(a, b, in: arena)
            XCTAssertEqual(result.shape, try f.tensor("out").shape, name)
            XCTAssertEqual(result.toArray(), try f.tensor("out").toArray(), name)  // one rounding: exact
        }
    }

    func test_timestepEmbedding_matchesDiffusers() throws {
        for name in ["timestep_embedding_sd", "timestep_embedding_odd"] {
            let f = try KernelFixture(name)
            let embedding = timestepEmbedding(
                try f.tensor("timesteps").toArray(), embeddingDim: f.int("embedding_dim"),
                flipSinToCos: f.int("flip_sin_to_cos") == 1, downscaleFreqShift: f.float("downscale_freq_shift"),
                scale: f.float("scale"), maxPeriod: f.float("max_period"))
            // sin/cos of float32 arguments up to 999: one ulp of the argument (2⁻¹⁴ at 999, from
            // PyTorch's vectorised exp vs libm's for the frequency) moves the result by 6e-5, so
            // no float32 implementation agrees closer than two such ulps.
            assertClose(embedding, try f.tensor("out"), relative: 2 * 0x1p-14, name)
        }
    }

    /// Non-causal attention runs on the GEMM micro-kernels (causal on sgemm): each ISA's.
    func test_attention_matchesPyTorchOnEveryMicroKernel() throws {
        defer { _ = fcs_conv_gemm_select(nil) }
        for isa in ["avx512bf16", "avx512", "avx2", "baseline"] {
            guard fcs_conv_gemm_select(isa) == 0 else { continue }
            for name in ["attention_self", "attention_cross", "attention_causal", "attention_tiles"] {
                let f = try KernelFixture(name)
                let out = scaledDotProductAttention(query: try f.tensor("q"), key: try f.tensor("k"), value: try f.tensor("v"),
                                                    heads: f.int("heads"), causal: f.int("causal") == 1, in: arena)
                assertClose(out, try f.tensor("out"), "\(name) \(isa)")
            }
        }
    }

    func test_halfConversions_matchPyTorch() throws {
        let f = try KernelFixture("half_conversion")
        let x = try f.tensor("x").toArray()
        for (bitsName, backName, convert) in [
            ("f16", "f16_back", FloatConversion.floatToFloat16),
            ("bf16", "bf16_back", FloatConversion.floatToBFloat16),
        ] {
            var bits = [UInt16](repeating: 0, count: x.count)
            x.withUnsafeBufferPointer { source in
                bits.withUnsafeMutableBufferPointer { convert(source.baseAddress!, $0.baseAddress!, x.count) }
            }
            let expectedBits = Array(f.file.rawBytes(bitsName).bindMemory(to: UInt16.self))
            // NaN stays NaN; which NaN payload comes out is not specified (PyTorch's own scalar and
            // vector paths differ), so NaNs are compared as NaNs.
            let isNaN = { (b: UInt16) in bitsName == "f16" ? Float(Float16(bitPattern: b)).isNaN : Float(bitPattern: UInt32(b) << 16).isNaN }
            XCTAssertEqual(bits.map { isNaN($0) ? 0xFFFF : $0 }, expectedBits.map { isNaN($0) ? 0xFFFF : $0 }, "\(bitsName) bits")
            XCTAssertEqual(bits.filter(isNaN).count, x.filter(\.isNaN).count, "\(bitsName) NaNs")
            // widening: the fixture's 16-bit tensor read back as float32 equals PyTorch's .float()
            let widened = try f.tensor(bitsName).toArray(), expected = try f.tensor(backName).toArray()
            XCTAssertEqual(widened.map { $0.isNaN ? Float.nan.bitPattern : $0.bitPattern },
                           expected.map { $0.isNaN ? Float.nan.bitPattern : $0.bitPattern }, "\(bitsName) widening")
        }
    }
}
