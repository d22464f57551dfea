#!/usr/bin/env python3
"""The PyTorch CPU side of `fcs bench models`: SD 1.5's text encoder, UNet and VAE, and TAESD, built
from their configs with random weights (diffusers 0.42.1, transformers 5.23), same rows and thread count.

Each row is timed in fp32 and, where the CPU has AVX512_BF16 (PyTorch's fast bf16 path), also under
`torch.autocast("cpu", dtype=torch.bfloat16)` and with weights and inputs in bf16; the UNet rows print
how far each bf16 variant's ε is from fp32's on the same input. `--json FILE` writes the figures for
`fcs bench models --peer FILE` (`make bench-models` runs both, one right after the other).

    .venv-tools/bin/python tools/bench_models_torch.py [--threads 2] [--repeats 3] [--json FILE]
"""
import argparse
import contextlib
import json
import os
import platform
import resource
import time

import torch
from diffusers import AutoencoderKL, AutoencoderTiny, UNet2DConditionModel
from diffusers.utils import logging as diffusers_logging
from transformers import CLIPTextConfig, CLIPTextModel

from bench_timing import median_seconds

# SD 1.x's text encoder (OpenAI CLIP ViT-L/14 text tower); transformers' defaults are ViT-B's
TEXT_CONFIG = dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                   max_position_embeddings=77, hidden_act="quick_gelu", projection_dim=768)

UNET_CONFIG = dict(
    sample_size=64, in_channels=4, out_channels=4, flip_sin_to_cos=True, freq_shift=0,
    down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    block_out_channels=[320, 640, 1280, 1280], layers_per_block=2, downsample_padding=1, mid_block_scale_factor=1,
    act_fn="silu", norm_num_groups=32, norm_eps=1e-5, cross_attention_dim=768, attention_head_dim=8,
)

# The CPU features that decide which kernels run (fcs's and PyTorch's): /proc/cpuinfo's names
FLAGS = ["avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"]

FP32, AUTOCAST, BF16_WEIGHTS = "fp32", "bf16 autocast", "bf16 weights"


def cpu_description():
    """The CPU's model name and which of FLAGS it has (Linux's /proc/cpuinfo; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo") as file:
            text = file.read()
    except OSError:
        return platform.processor() or platform.machine(), {}
    fields = dict(line.split(":", 1) for line in text.split("\n\n")[0].splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    present = set(fields.get("flags", "").split())
    return fields.get("model name", platform.machine()), {flag: flag in present for flag in FLAGS}


def load_line(when):
    """The machine's 1-minute load average: on a shared machine, other work slows both sides alike
    only if they run one right after the other, and a load above the core count makes any figure noisy."""
    return f"load average {when}: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


def relative_error(value, reference):
    """‖value − reference‖ / ‖reference‖ over the whole tensor, in fp32."""
    value, reference = value.float(), reference.float()
    return ((value - reference).norm() / reference.norm()).item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latent-sizes", type=int, nargs="+", default=[64, 32])
    parser.add_argument("--json", metavar="FILE", help="also write the figures here, for `fcs bench models --peer FILE`")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    cpu, flags = cpu_description()
    # Without AVX512_BF16 PyTorch's bf16 runs through conversions and is no fair anchor (nor fast);
    # nor when PyTorch is held to AVX2 (ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2), to stand
    # for an AVX2-only CPU beside `fcs bench models --kernels avx2`
    avx512 = torch.backends.cpu.get_cpu_capability().startswith("AVX512")
    variants = [FP32, AUTOCAST, BF16_WEIGHTS] if flags.get("avx512_bf16") and avx512 else [FP32]
    print(f"CPU: {cpu}; flags: {' '.join(f if on else f'no-{f}' for f, on in flags.items()) or 'unknown (no /proc/cpuinfo)'}; "
          f"PyTorch CPU capability {torch.backends.cpu.get_cpu_capability()}")
    print(load_line("before"))
    print(f"variants: {', '.join(variants)}" + ("" if len(variants) > 1 else " (bf16 not timed: no avx512_bf16, or PyTorch held below AVX-512)"))

    start = time.perf_counter()
    text_encoder = CLIPTextModel(CLIPTextConfig(**TEXT_CONFIG)).eval()
    unet = UNet2DConditionModel(**UNET_CONFIG).eval()
    vae = AutoencoderKL(block_out_channels=[128, 256, 512, 512], layers_per_block=2, latent_channels=4, norm_num_groups=32,
                        down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                        sample_size=512).eval()
    taesd = AutoencoderTiny().eval()  # diffusers' defaults are madebyollin/taesd's
    print(f"PyTorch {torch.__version__}, {args.threads} threads, random weights")
    print(f"build: {time.perf_counter() - start:.1f} s")

    ids = torch.tensor([[49406] + [320] * 75 + [49407]])
    unet_inputs = {(size, batch): (torch.randn(batch, 4, size, size), torch.randn(batch, 77, 768))
                   for size in args.latent_sizes for batch in (1, 2)}
    image, latents = torch.randn(1, 3, 512, 512), torch.randn(1, 4, 64, 64)

    rows, errors, reference_eps = {}, {}, {}
    for variant in variants:
        if variant == BF16_WEIGHTS:  # last, as it converts the models in place
            diffusers_logging.set_verbosity_error()  # `to()` warns of fp32-kept modules even where there are none
            for model in (text_encoder, unet, vae, taesd):
                model.to(torch.bfloat16)
        dtype = torch.bfloat16 if variant == BF16_WEIGHTS else torch.float32
        scope = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if variant == AUTOCAST else contextlib.nullcontext

        def timed(name, fn):
            with torch.inference_mode(), scope():
                rows.setdefault(name, {})[variant] = median_seconds(fn, args.repeats)

        timed("text encoder, 77 tokens", lambda: text_encoder(input_ids=ids))
        for (size, batch), (sample, text) in unet_inputs.items():
            name = f"UNet forward {size * 8}x{size * 8}, batch {batch}"
            sample, text = sample.to(dtype), text.to(dtype)
            eps = {}
            timed(name, lambda: eps.update(value=unet(sample, 500, encoder_hidden_states=text).sample))
            if variant == FP32:
                reference_eps[name] = eps["value"]
            else:
                errors.setdefault(name, {})[variant] = relative_error(eps["value"], reference_eps[name])
        timed("VAE encode 512x512", lambda: vae.encode(image.to(dtype)).latent_dist.mean)
        timed("VAE decode 512x512", lambda: vae.decode(latents.to(dtype)).sample)
        timed("TAESD encode 512x512", lambda: taesd.encode(image.to(dtype)).latents)
        timed("TAESD decode 512x512", lambda: taesd.decode(latents.to(dtype)).sample)

    width = max(len(name) for name in rows)
    print(f"{'network':{width}} | " + " | ".join(f"{variant:>13}" for variant in variants) + "  (seconds)")
    for name, seconds in rows.items():
        print(f"{name:{width}} | " + " | ".join(f"{seconds[variant]:13.3f}" for variant in variants))
    if errors:
        print(f"UNet ε, relative error vs fp32 on the same input (‖ε − ε_fp32‖ / ‖ε_fp32‖):")
        for name, by_variant in errors.items():
            print(f"{name:{width}} | " + " | ".join(f"{by_variant[variant]:13.1e}" for variant in variants[1:]))
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
    print(load_line("after"))

    if args.json:
        with open(args.json, "w") as file:
            json.dump(dict(cpu=cpu, flags=flags, torch=torch.__version__, threads=args.threads, repeats=args.repeats,
                           variants=variants, rows=rows, unet_relative_error=errors), file, indent=1)


if __name__ == "__main__":
    main()
