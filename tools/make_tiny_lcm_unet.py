#!/usr/bin/env python3
"""A tiny LCM-shaped UNet2DConditionModel (the tiny SD UNet's config plus time_cond_proj_dim = 16,
so `time_embedding.cond_proj` exists) with random weights, and diffusers' outputs for it with the
guidance-scale embedding of LatentConsistencyModelPipeline.get_guidance_scale_embedding as
`timestep_cond`, for Tests/FCSModelsTests/UNet2DConditionModelTests.swift.

Writes Tests/FCSModelsTests/Fixtures/tiny-lcm-unet/: config.json, diffusion_pytorch_model.safetensors
(as save_pretrained writes them) and reference.safetensors:
  text            [2, 77, 32] N(0, 1) encoder states
  sample          [2, 4, 8, 8] N(0, 1) latents
  w<W>.embedding  [1, 16] get_guidance_scale_embedding(tensor([W]), 16)
  w<W>.t<T>.out   [2, 4, 8, 8] unet(sample, T, text, timestep_cond=embedding repeated per sample)
  t<T>.plain.out  the same with timestep_cond=None (diffusers adds nothing)

    /work/venv-ref/bin/python tools/make_tiny_lcm_unet.py   # diffusers 0.42.1, torch 2.13
"""
import json
import sys
from pathlib import Path

import torch
from diffusers import LatentConsistencyModelPipeline, UNet2DConditionModel
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from make_tiny_models import redraw  # noqa: E402  (the tiny models' weight distribution)

OUT = ROOT / "Tests/FCSModelsTests/Fixtures/tiny-lcm-unet"
WEIGHTS = [0.0, 7.5]
TIMESTEPS = [999, 259, 0]


def main():
    config = json.loads((ROOT / "Tests/FCSModelsTests/Fixtures/tiny-sd/unet/config.json").read_text())
    config = {k: v for k, v in config.items() if not k.startswith("_")} | {"time_cond_proj_dim": 16}
    torch.manual_seed(0)
    unet = UNet2DConditionModel.from_config(config)
    with torch.no_grad():
        redraw(unet)
    unet.eval()
    OUT.mkdir(parents=True, exist_ok=True)
    unet.save_pretrained(OUT, safe_serialization=True)
    assert "time_embedding.cond_proj.weight" in unet.state_dict()
    g = torch.Generator().manual_seed(3)
    text, sample = torch.randn(2, 77, 32, generator=g), torch.randn(2, 4, 8, 8, generator=g)
    ref = {"text": text, "sample": sample}
    with torch.no_grad():
        for w in WEIGHTS:
            embedding = LatentConsistencyModelPipeline.get_guidance_scale_embedding(None, torch.tensor([w]), embedding_dim=16)
            ref[f"w{w}.embedding"] = embedding
            for t in TIMESTEPS:
                ref[f"w{w}.t{t}.out"] = unet(sample, t, encoder_hidden_states=text, timestep_cond=embedding.repeat(2, 1)).sample
        for t in TIMESTEPS:
            ref[f"t{t}.plain.out"] = unet(sample, t, encoder_hidden_states=text).sample
    save_file({k: v.contiguous() for k, v in ref.items()}, OUT / "reference.safetensors",
              metadata={"weights": json.dumps(WEIGHTS), "timesteps": json.dumps(TIMESTEPS)})
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
