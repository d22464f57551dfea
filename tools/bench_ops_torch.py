#!/usr/bin/env python3
"""The PyTorch CPU side of `fcs bench ops`: the same rows, shapes and thread count.

    .venv-tools/bin/python tools/bench_ops_torch.py [--threads 2] [--repeats 5]

Each row is the median of --repeats runs after one warm-up, as a share of the sgemm ceiling
(square 2048³ torch.mm) measured in the same run.
"""
import argparse

import torch
import torch.nn.functional as F

from bench_timing import median_seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    with torch.inference_mode():
        n = 2048
        a, b = torch.randn(n, n), torch.randn(n, n)
        ceiling = 2 * n**3 / median_seconds(lambda: torch.mm(a, b), args.repeats) / 1e9
        print(f"PyTorch {torch.__version__}, {args.threads} threads, sgemm 2048^3 ceiling: {ceiling:.1f} GFLOP/s")

        rows = []
        for size, channels in [(64, 320), (32, 640), (16, 1280), (8, 1280)]:
            x = torch.randn(1, channels, size, size)
            w, bias = torch.randn(channels, channels, 3, 3) * 0.02, torch.randn(channels)
            seconds = median_seconds(lambda: F.conv2d(x, w, bias, padding=1), args.repeats)
            rows.append((f"conv3x3 {size}x{size}x{channels}->{channels}", seconds, 2 * size * size * channels * channels * 9))
        x, w, bias = torch.randn(1, 4096, 320), torch.randn(1280, 320) * 0.05, torch.randn(1280)
        rows.append(("linear 4096x320->1280", median_seconds(lambda: F.linear(x, w, bias), args.repeats), 2 * 4096 * 320 * 1280))
        for name, keys in [("self-attention 4096x320 (8 heads)", 4096), ("cross-attention 4096x77 (8 heads)", 77)]:
            q, k, v = torch.randn(1, 8, 4096, 40), torch.randn(1, 8, keys, 40), torch.randn(1, 8, keys, 40)
            seconds = median_seconds(lambda: F.scaled_dot_product_attention(q, k, v), args.repeats)
            rows.append((name, seconds, 4 * 4096 * keys * 320))

    width = max(len(name) for name, _, _ in rows)
    print(f"{'op':{width}} |       ms | GFLOP/s | % of sgemm")
    for name, seconds, flops in rows:
        gflops = flops / seconds / 1e9
        print(f"{name:{width}} | {seconds * 1e3:8.2f} | {gflops:7.1f} | {100 * gflops / ceiling:9.1f}")


if __name__ == "__main__":
    main()
