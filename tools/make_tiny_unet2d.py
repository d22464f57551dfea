#!/usr/bin/env python3
"""Tiny random diffusers UNet2DModels (pixel-space denoisers, the demo model's class) and their
outputs, for fcs's UNet2DModel parity test: Tests/FCSModelsTests/Fixtures/tiny-unet2d/{demo-shaped,plain}/,
each a DDPMPipeline folder (model_index.json, scheduler/, unet/config.json,
unet/diffusion_pytorch_model.safetensors) with reference.safetensors (sample, timesteps, output).

    .venv-tools/bin/python tools/make_tiny_unet2d.py
"""
import os

import torch
from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(__file__), "..", "Tests", "FCSModelsTests", "Fixtures", "tiny-unet2d")
CONFIGS = {
    # the demo model's layout (tools/train_demo_model.py), narrower
    "demo-shaped": dict(sample_size=32, in_channels=3, out_channels=3, layers_per_block=2,
                        block_out_channels=(16, 24, 32, 40),
                        down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "DownBlock2D"),
                        up_block_types=("UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
                        attention_head_dim=8, norm_num_groups=8),
    # diffusers' defaults for the options: one head per block, attention everywhere, centred input
    "plain": dict(sample_size=16, in_channels=3, out_channels=3, layers_per_block=1, block_out_channels=(16, 32),
                  down_block_types=("AttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "AttnUpBlock2D"),
                  attention_head_dim=None, norm_num_groups=4, center_input_sample=True, freq_shift=1,
                  flip_sin_to_cos=False, attn_norm_num_groups=2),
}


def main():
    for name, config in CONFIGS.items():
        torch.manual_seed(0)
        model = UNet2DModel(**config).eval()
        with torch.no_grad():  # random weights of a realistic scale, not diffusers' zero-initialised conv_out
            for parameter in model.parameters():
                parameter.normal_(0, 0.2)
        folder = os.path.join(ROOT, name)
        os.makedirs(folder, exist_ok=True)
        scheduler = DDPMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
        DDPMPipeline(unet=model, scheduler=scheduler).save_pretrained(folder, safe_serialization=True)
        side = config["sample_size"]
        sample = torch.randn(2, 3, side, side)
        timesteps = torch.tensor([999.0, 10.0])
        with torch.no_grad():
            output = model(sample, timesteps).sample
        save_file({"sample": sample, "timesteps": timesteps, "output": output.contiguous()},
                  os.path.join(folder, "reference.safetensors"))
        print(name, sum(p.numel() for p in model.parameters()), "parameters")


if __name__ == "__main__":
    main()
