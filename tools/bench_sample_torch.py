#!/usr/bin/env python3
"""The PyTorch CPU side of `fcs bench sample`: the spec-written reference sampler
(reference_sampler.py) on diffusers' SD 1.5-shaped networks with random weights, same tasks,
sizes, steps and threads.

    .venv-tools/bin/python tools/bench_sample_torch.py [--threads 2] [--size 256] [--steps 20] [--task inpaint]
"""
import argparse
import resource
import time

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel

import reference_sampler
from bench_models_torch import TEXT_CONFIG, UNET_CONFIG
from reference_sampler import inpainting_constraint, sample, super_resolution_constraint


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, nargs="+", default=[256])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--task", nargs="+", default=["inpaint"], choices=["inpaint", "superres"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**UNET_CONFIG).eval()
    vae = AutoencoderKL(block_out_channels=[128, 256, 512, 512], layers_per_block=2, latent_channels=4, norm_num_groups=32,
                        down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4).eval()
    text_encoder = CLIPTextModel(CLIPTextConfig(**TEXT_CONFIG)).eval()
    print(f"PyTorch {torch.__version__}, {args.threads} threads, SD 1.5 shapes, random fp32 weights, {args.steps} steps")
    print("task                 |  size | UNet forwards | seconds/image")
    reference_sampler.STEPS = args.steps  # the reference's outer step count
    with torch.inference_mode():
        cond = text_encoder(torch.tensor([[49406] + [49407] * 76])).last_hidden_state
        for task in args.task:
            for side in args.size:
                image = (torch.randn(1, 3, side, side) * 0.5).clamp(-1, 1)
                x_T = torch.randn(1, 4, side // 8, side // 8)
                zs = [torch.randn_like(x_T) for _ in range(args.steps)]
                start = time.perf_counter()
                if task == "inpaint":
                    fill = torch.zeros(1, 1, side, side)
                    fill[..., side // 2:] = 1
                    p = dict(guidance_weight=0.0, convention="consistent", newton_steps=5,
                             learning_rates=[0.5, 0.4, 0.3, 0.2, 0.1], h=0.005)
                    x0 = sample(unet, inpainting_constraint(vae, image, fill), cond, None, x_T, zs, p)
                else:
                    low = image[..., ::4, ::4]
                    p = dict(guidance_weight=0.0, convention="consistent", newton_steps=10, learning_rates=[0.5], h=0.005)
                    x0 = sample(unet, super_resolution_constraint(vae, low, 4), cond, None, x_T, zs, p)
                vae.decode(x0 / vae.config.scaling_factor)
                seconds = time.perf_counter() - start
                forwards = args.steps * (1 + 2 * p["newton_steps"])
                name = "inpaint" if task == "inpaint" else "superres x4"
                print(f"{name:20} | {side:5} | {forwards:13} | {seconds:13.1f}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
