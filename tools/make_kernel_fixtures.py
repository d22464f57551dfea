#!/usr/bin/env python3
"""Parity fixtures for the fcs tensor kernels, computed by PyTorch on CPU in float32.

One safetensors file per case in Tests/FCSTensorTests/Fixtures/kernels/: the inputs, the PyTorch
result "out", and __metadata__ with "op" and the op's parameters as decimal strings. Seeded and
single-threaded, so re-running gives the same tensors (safetensors orders metadata keys at random).

    .venv-tools/bin/python tools/make_kernel_fixtures.py [--out DIR]
"""
import argparse
import os

import torch
import torch.nn.functional as F
from diffusers.models.embeddings import get_timestep_embedding
from safetensors.torch import save_file

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def conv_case(x_shape, out_channels, kernel, stride, pads, bias=True):
    top, bottom, left, right = pads
    x = torch.randn(x_shape)
    weight = torch.randn(out_channels, x_shape[1], kernel, kernel) / (x_shape[1] * kernel * kernel) ** 0.5
    b = torch.randn(out_channels) if bias else None
    out = F.conv2d(F.pad(x, (left, right, top, bottom)), weight, b, stride=stride)
    tensors = {"x": x, "weight": weight, "out": out}
    if bias:
        tensors["bias"] = b
    meta = dict(op="conv2d", stride=stride, pad_top=top, pad_bottom=bottom, pad_left=left, pad_right=right)
    return tensors, meta


@case
def conv2d_3x3_s1_p1():
    return conv_case([2, 5, 9, 11], 7, 3, 1, (1, 1, 1, 1))


@case
def conv2d_1x1():
    return conv_case([1, 6, 8, 8], 4, 1, 1, (0, 0, 0, 0))


@case
def conv2d_3x3_s2_p1():
    return conv_case([1, 4, 9, 10], 6, 3, 2, (1, 1, 1, 1))


@case
def conv2d_3x3_s2_pad0101():  # diffusers' VAE Downsample2D: F.pad(x, (0, 1, 0, 1)), then stride 2
    return conv_case([1, 4, 8, 8], 5, 3, 2, (0, 1, 0, 1))


@case
def conv2d_k5_p2_nobias():
    return conv_case([1, 3, 7, 6], 4, 5, 1, (2, 2, 2, 2), bias=False)


@case
def conv2d_3x3_s1_p1_wide():  # 16 → 20 channels: Winograd by default; odd height
    return conv_case([1, 16, 21, 40], 20, 3, 1, (1, 1, 1, 1))


@case
def linear():
    x, w, b = torch.randn(3, 4, 10), torch.randn(6, 10), torch.randn(6)
    return {"x": x, "weight": w, "bias": b, "out": F.linear(x, w, b)}, dict(op="linear")


@case
def matmul():
    a, b = torch.randn(5, 7), torch.randn(7, 3)
    return {"a": a, "b": b, "out": a @ b}, dict(op="matmul")


@case
def bmm():
    a, b = torch.randn(4, 5, 7), torch.randn(4, 7, 3)
    return {"a": a, "b": b, "out": torch.bmm(a, b)}, dict(op="bmm")


def group_norm_case(x, groups, eps, silu):
    w, b = torch.randn(x.shape[1]), torch.randn(x.shape[1])
    out = F.group_norm(x, groups, w, b, eps)
    if silu:
        out = F.silu(out)
    return {"x": x, "weight": w, "bias": b, "out": out}, dict(op="group_norm", groups=groups, eps=eps, silu=int(silu))


@case
def group_norm():
    return group_norm_case(torch.randn(2, 8, 5, 6), 4, 1e-6, False)


@case
def group_norm_silu():
    return group_norm_case(torch.randn(2, 8, 5, 6), 4, 1e-6, True)


@case
def group_norm_offset():  # large mean: a one-pass variance would lose digits here
    return group_norm_case(torch.randn(2, 8, 5, 6) * 3 + 50, 2, 1e-5, False)


@case
def layer_norm():
    x, w, b = torch.randn(3, 7, 12), torch.randn(12), torch.randn(12)
    return {"x": x, "weight": w, "bias": b, "out": F.layer_norm(x, (12,), w, b, 1e-5)}, dict(op="layer_norm", eps=1e-5)


@case
def softmax():
    x = torch.randn(4, 9, 33) * 4
    return {"x": x, "out": F.softmax(x, dim=-1)}, dict(op="softmax")


def activation_input():
    specials = torch.tensor([0.0, -0.0, 1e-8, -1e-8, 20, -20, 50, -50, 88, -88])
    return torch.cat([torch.linspace(-10, 10, 1990), specials])


for _name, _fn in {
    "silu": F.silu,
    "gelu": lambda x: F.gelu(x, approximate="none"),
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
}.items():
    def _make(name=_name, fn=_fn):
        x = activation_input()
        return {"x": x, "out": fn(x)}, dict(op=name)
    _make.__name__ = _name
    case(_make)


@case
def geglu():
    x = torch.randn(2, 5, 16)
    hidden, gate = x.chunk(2, dim=-1)
    return {"x": x, "out": hidden * F.gelu(gate)}, dict(op="geglu")


@case
def upsample_nearest2x():
    x = torch.randn(2, 3, 5, 7)
    return {"x": x, "out": F.interpolate(x, scale_factor=2.0, mode="nearest")}, dict(op="upsample_nearest2x")


@case
def avg_pool2d():
    x = torch.randn(2, 3, 8, 10)
    return {"x": x, "out": F.avg_pool2d(x, 2, 2)}, dict(op="avg_pool2d", kernel=2, stride=2)


@case
def concat_channels():
    a, b = torch.randn(2, 3, 4, 5), torch.randn(2, 6, 4, 5)
    return {"a": a, "b": b, "out": torch.cat([a, b], dim=1)}, dict(op="concat_channels")


def binary_case(op, a_shape, b_shape):
    a, b = torch.randn(a_shape), torch.randn(b_shape)
    return {"a": a, "b": b, "out": a + b if op == "add" else a * b}, dict(op=op)


@case
def add_same():
    return binary_case("add", [2, 3, 4], [2, 3, 4])


@case
def add_bcast_channel():
    return binary_case("add", [2, 3, 4, 5], [1, 3, 1, 1])


@case
def add_bcast_last():
    return binary_case("add", [2, 4, 5], [5])


@case
def add_bcast_both():
    return binary_case("add", [3, 1, 5], [1, 4, 1])


@case
def mul_bcast_batch():
    return binary_case("mul", [2, 3, 4, 5], [2, 3, 1, 1])


def timestep_case(dim, flip, shift):
    t = torch.tensor([0, 1, 50, 999, 500], dtype=torch.float32)
    out = get_timestep_embedding(t, dim, flip_sin_to_cos=flip, downscale_freq_shift=shift, scale=1, max_period=10000)
    meta = dict(op="timestep_embedding", embedding_dim=dim, flip_sin_to_cos=int(flip),
                downscale_freq_shift=shift, scale=1, max_period=10000)
    return {"timesteps": t, "out": out}, meta


@case
def timestep_embedding_sd():  # UNet2DConditionModel of SD 1.x: flip_sin_to_cos=True, freq_shift=0
    return timestep_case(320, True, 0)


@case
def timestep_embedding_odd():
    return timestep_case(7, False, 1)


def attention_case(batch, nq, nk, heads, d, causal):
    q, k, v = (torch.randn(batch, n, heads * d) for n in (nq, nk, nk))
    split = lambda t: t.view(batch, -1, heads, d).transpose(1, 2)
    out = F.scaled_dot_product_attention(split(q), split(k), split(v), is_causal=causal)
    out = out.transpose(1, 2).reshape(batch, nq, heads * d)
    return {"q": q, "k": k, "v": v, "out": out}, dict(op="attention", heads=heads, causal=int(causal))


@case
def attention_self():
    return attention_case(2, 70, 70, 4, 8, False)


@case
def attention_cross():
    return attention_case(1, 300, 77, 2, 16, False)


@case
def attention_causal():
    return attention_case(2, 77, 77, 3, 8, True)


@case
def attention_tiles():  # several query and key tiles
    return attention_case(1, 600, 600, 1, 40, False)


@case
def half_conversion():
    specials = [0.0, -0.0, float("inf"), float("-inf"), float("nan"), 65504, 65520, 1e-8, 6e-8, 5.96e-8,
                1e-40, -1e-40, 3.4e38, 1 + 2**-11, 1 + 3 * 2**-11, 1 + 2**-8, 1 + 3 * 2**-8, -(1 + 2**-8)]
    x = torch.cat([torch.randn(280) * 1000, torch.randn(20) * 1e-5, torch.tensor(specials, dtype=torch.float32)])
    return {"x": x, "f16": x.half(), "f16_back": x.half().float(),
            "bf16": x.bfloat16(), "bf16_back": x.bfloat16().float()}, dict(op="half_conversion")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(root, "Tests/FCSTensorTests/Fixtures/kernels"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    total = 0
    for name, make in CASES.items():
        torch.manual_seed(sum(map(ord, name)))  # each case seeded on its own: adding one changes no other
        tensors, meta = make()
        tensors = {k: v.contiguous() for k, v in tensors.items()}
        path = os.path.join(args.out, f"{name}.safetensors")
        save_file(tensors, path, metadata={k: str(v) for k, v in meta.items()})
        size = os.path.getsize(path)
        total += size
        print(f"{name:28s} {size:8d} bytes  " + ", ".join(f"{k}{list(v.shape)}" for k, v in tensors.items()))
    print(f"{len(CASES)} fixtures, {total} bytes")


if __name__ == "__main__":
    main()
