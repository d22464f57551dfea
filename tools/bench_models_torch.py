#!/usr/bin/env python3
"""The PyTorch CPU side of `fcs bench models`: SD 1.5's text encoder, UNet and VAE built from their
configs with random weights (diffusers 0.42.1, transformers 5.23), same rows and thread count.

    .venv-tools/bin/python tools/bench_models_torch.py [--threads 2] [--repeats 3]
"""
import argparse
import resource
import time

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latent-sizes", type=int, nargs="+", default=[64, 32])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    start = time.perf_counter()
    text_encoder = CLIPTextModel(CLIPTextConfig(**TEXT_CONFIG)).eval()
    unet = UNet2DConditionModel(**UNET_CONFIG).eval()
    vae = AutoencoderKL(block_out_channels=[128, 256, 512, 512], layers_per_block=2, latent_channels=4, norm_num_groups=32,
                        down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                        sample_size=512).eval()
    print(f"PyTorch {torch.__version__}, {args.threads} threads, fp32 weights, random")
    print(f"build: {time.perf_counter() - start:.1f} s")
    rows = []
    with torch.inference_mode():
        ids = torch.tensor([[49406] + [320] * 75 + [49407]])
        rows.append(("text encoder, 77 tokens", median_seconds(lambda: text_encoder(input_ids=ids), args.repeats)))
        for size in args.latent_sizes:
            for batch in (1, 2):
                sample, text = torch.randn(batch, 4, size, size), torch.randn(batch, 77, 768)
                seconds = median_seconds(lambda: unet(sample, 500, encoder_hidden_states=text), args.repeats)
                rows.append((f"UNet forward {size * 8}x{size * 8}, batch {batch}", seconds))
        image, latents = torch.randn(1, 3, 512, 512), torch.randn(1, 4, 64, 64)
        rows.append(("VAE encode 512x512", median_seconds(lambda: vae.encode(image).latent_dist.mean, args.repeats)))
        rows.append(("VAE decode 512x512", median_seconds(lambda: vae.decode(latents).sample, args.repeats)))
    width = max(len(name) for name, _ in rows)
    print(f"{'network':{width}} |  seconds")
    for name, seconds in rows:
        print(f"{name:{width}} | {seconds:8.3f}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
