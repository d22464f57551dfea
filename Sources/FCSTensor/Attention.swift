import _FCSKernels

/// Multi-head scaled-dot-product attention in diffusers' layout, by flash attention: the score
/// matrix is only ever held as one `queryTile × keyTile` block per thread (4096 tokens never
/// need a 4096 × 4096 × heads buffer), with an online softmax across key blocks. Non-causal
/// attention runs on fcs's GEMM micro-kernels (`fcs_attention`), causal attention on sgemm.
///
/// - Parameters:
///   - query: `[B, Nq, heads * d]`; key, value: `[B, Nk, heads * d]` (contiguous).
///   - heads: number of heads; the scale is `1/√d`.
///   - causal: query i attends to keys `0...i` only (CLIP's text encoder).
///   - precision: ``WeightPrecision/bfloat16`` multiplies q, k, v and the probabilities as bf16
///     (float32 softmax and sums; causal attention, and any under a ``DifferenceTape``, stays
///     float32); the other precisions compute in float32.
/// - Returns: `[B, Nq, heads * d]`, equal to `F.scaled_dot_product_attention` on the
///   `[B, heads, N, d]` views.
public func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, heads: Int,
                                      causal: Bool = false, precision: WeightPrecision = .float32,
                                      in arena: ScratchArena) -> Tensor {
    let timing = OperationProfile.start(.attention, flops: 4 * query.count * (key.rank == 3 ? key.shape[1] : 0))
    defer { timing.stop() }
    precondition(query.rank == 3 && key.shape == value.shape && key.rank == 3 && query.shape[0] == key.shape[0]
                 && query.shape[2] == key.shape[2] && query.shape[2] % heads == 0
                 && query.isContiguous && key.isContiguous && value.isContiguous,
                 "attention: q \(query.shape), k \(key.shape), v \(value.shape), heads \(heads)")
    let (batch, queries, width) = (query.shape[0], query.shape[1], query.shape[2])
    let keys = key.shape[1], d = width / heads
    guard keys > 0 else { return arena.zeros(query.shape) }
    if !causal {
        let type = panelType(precision: precision, underTape: arena.differenceTape != nil)
        return packedAttention(query: query, key: key, value: value, heads: heads, type: type, in: arena)
    }
    // causal (CLIP's text encoder, 77 tokens): key tiles past the diagonal are skipped, on sgemm
    let out = arena.tensor(query.shape)
    let (queryTile, keyTile, parts) = attentionTiles(batch: batch, queries: queries, keys: keys, heads: heads)
    let queryBlocks = (queries + queryTile - 1) / queryTile
    let tasks = batch * heads * queryBlocks
    let tileFloats = queryTile * keyTile + 2 * queryTile
    arena.scope {  // the score tiles are released before the caller allocates more
        let scratch = arena.scratch(parts * tileFloats)
        let scale = 1 / Float(d).squareRoot()
        ComputeThreads.run(maxParts: parts) { part, parts in
            let scores = scratch + part * tileFloats
            let rowMax = scores + queryTile * keyTile, rowSum = rowMax + queryTile
            for task in ComputeThreads.partRange(tasks, part: part, parts: parts) {
                let b = task / (heads * queryBlocks), h = task / queryBlocks % heads
                let q0 = task % queryBlocks * queryTile, rows = min(queryTile, queries - q0)
                let q = query.data + (b * queries + q0) * width + h * d
                let o = out.data + (b * queries + q0) * width + h * d
                rowMax.initialize(repeating: -.infinity, count: rows)
                rowSum.initialize(repeating: 0, count: rows)
                var k0 = 0
                while k0 < keys && (!causal || k0 <= q0 + rows - 1) {
                    let cols = min(keyTile, keys - k0)
                    let k = key.data + (b * keys + k0) * width + h * d, v = value.data + (b * keys + k0) * width + h * d
                    // scores = q kᵀ / √d (the scale rides on the GEMM's alpha)
                    Gemm.call(false, true, rows, cols, d, scale, q, width, k, width, 0, scores, keyTile)
                    fcs_online_softmax_tile(scores, rows, cols, keyTile, rowMax, rowSum, o, d, width,
                                            causal ? q0 - k0 + 1 : -1)
                    // o = p v on the first key tile (every row has a valid key there), o += p v after
                    Gemm.call(false, false, rows, d, cols, 1, scores, keyTile, v, width, k0 == 0 ? 0 : 1, o, width)
                    k0 += keyTile
                }
                fcs_divide_rows(o, rows, d, width, rowSum)
            }
        }
    }
    return out
}

/// The products' type of non-causal attention: bf16 for ``WeightPrecision/bfloat16`` layers,
/// except under a ``DifferenceTape`` — bf16 rounding of two activations is not removed by the tape
/// (the product is not linear), so a forward under one attends in float32.
private func panelType(precision: WeightPrecision, underTape: Bool) -> fcs_panel_type {
    precision == .bfloat16 && !underTape ? FCS_PANEL_BF16 : FCS_PANEL_F32
}

/// `fcs_attention` over every head and query block: each head's keys and values are packed once,
/// then the query blocks run in parallel.
private func packedAttention(query: Tensor, key: Tensor, value: Tensor, heads: Int, type: fcs_panel_type,
                             in arena: ScratchArena) -> Tensor {
    let (batch, queries, width) = (query.shape[0], query.shape[1], query.shape[2])
    let keys = key.shape[1], d = width / heads
    let out = arena.tensor(query.shape)
    let (queryTile, _, parts) = attentionTiles(batch: batch, queries: queries, keys: keys, heads: heads)
    let keyTile = packedKeyTile
    let keyFloats = floats(fcs_attention_key_panels_bytes(type, keys, d))
    let valueFloats = floats(fcs_attention_value_panels_bytes(type, keys, d))
    let queryBlocks = (queries + queryTile - 1) / queryTile
    arena.scope {
        let keysPacked = arena.scratch(batch * heads * keyFloats), valuesPacked = arena.scratch(batch * heads * valueFloats)
        let scratchFloats = fcs_attention_scratch_size(type, queryTile, keyTile, d)
        let scratch = arena.scratch(parts * scratchFloats)
        ComputeThreads.forEachRange(batch * heads) { pairs in
            for pair in pairs {
                let b = pair / heads, h = pair % heads, offset = (b * keys) * width + h * d
                fcs_attention_pack_keys(type, key.data + offset, keys, d, width, keysPacked + pair * keyFloats)
                fcs_attention_pack_values(type, value.data + offset, keys, d, width, valuesPacked + pair * valueFloats)
            }
        }
        let scale = 1 / Float(d).squareRoot(), tasks = batch * heads * queryBlocks
        ComputeThreads.run(maxParts: parts) { part, parts in
            for task in ComputeThreads.partRange(tasks, part: part, parts: parts) {
                let pair = task / queryBlocks, b = pair / heads, h = pair % heads
                let q0 = task % queryBlocks * queryTile, rows = min(queryTile, queries - q0)
                let offset = (b * queries + q0) * width + h * d
                fcs_attention(type, query.data + offset, rows, d, width, scale, keysPacked + pair * keyFloats,
                              valuesPacked + pair * valueFloats, keys, keyTile, out.data + offset, width,
                              scratch + part * scratchFloats)
            }
        }
    }
    return out
}

/// Floats that hold `bytes` (packed panels live in float scratch).
private func floats(_ bytes: Int) -> Int { (bytes + 3) / 4 }

/// Scratch floats ``scaledDotProductAttention(query:key:value:heads:causal:precision:in:)`` takes
/// beside its result for heads of width `d`: one score tile per thread, whatever the number of
/// tokens, and (not causal) the packed keys and values — the size of k and v, or half in bf16.
public func scaledDotProductAttentionScratchFloats(batch: Int, queries: Int, keys: Int, heads: Int, d: Int,
                                                   causal: Bool = false, precision: WeightPrecision = .float32) -> Int {
    guard keys > 0 else { return 0 }
    let (queryTile, keyTile, parts) = attentionTiles(batch: batch, queries: queries, keys: keys, heads: heads)
    guard !causal else { return ScratchArena.alignedFloats(parts * (queryTile * keyTile + 2 * queryTile)) }
    // the larger of the two panel types: whether a tape is attached is known only at the call
    return [FCS_PANEL_F32, panelType(precision: precision, underTape: false)].map { type in
        ScratchArena.alignedFloats(batch * heads * floats(fcs_attention_key_panels_bytes(type, keys, d)))
            + ScratchArena.alignedFloats(batch * heads * floats(fcs_attention_value_panels_bytes(type, keys, d)))
            + ScratchArena.alignedFloats(parts * fcs_attention_scratch_size(type, queryTile, packedKeyTile, d))
    }.max() ?? 0
}

/// Keys `fcs_attention` scores at a time: whole 12-key A panels, and a 384 × 128 score tile (192 KB) stays in L2.
private let packedKeyTile = 384

/// Query and key tile sizes and the threads used. A 128 × 512 score tile (256 KB) stays in L2;
/// with few keys (cross-attention over 77 tokens) taller query tiles keep the GEMM calls few and large.
private func attentionTiles(batch: Int, queries: Int, keys: Int, heads: Int) -> (query: Int, key: Int, parts: Int) {
    let keyTile = 512, queryTile = min(1024, max(128, (128 * keyTile) / min(keys, keyTile) / 64 * 64))
    let tasks = batch * heads * ((queries + queryTile - 1) / queryTile)
    return (queryTile, keyTile, min(ComputeThreads.count, tasks))
}
