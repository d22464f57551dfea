#!/usr/bin/env python3
"""A tiny UNet2DConditionModel with a per-level `transformer_layers_per_block` ([1, 2, 3, 1]: the
tiny SD UNet's config otherwise), random weights, and diffusers' outputs for it, for
Tests/FCSModelsTests/UNet2DConditionModelTests.swift: up blocks mirror the list and the mid block
takes its last entry, as diffusers builds them (SDXL's UNet has [1, 2, 10]).

Writes Tests/FCSModelsTests/Fixtures/tiny-unet-levels/: config.json, diffusion_pytorch_model.safetensors
(as save_pretrained writes them) and reference.safetensors:
  text       [2, 77, 32] N(0, 1) encoder states
  sample     [2, 4, 8, 8] N(0, 1) latents
  t<T>.out   [2, 4, 8, 8] unet(sample, T, text)

    /work/venv-ref/bin/python tools/make_tiny_unet_levels.py   # diffusers 0.42.1, torch 2.13
"""
import json
import sys
from pathlib import Path

import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.dont_write_bytecode = True
from make_tiny_models import redraw  # noqa: E402  (the tiny models' weight distribution)

OUT = ROOT / "Tests/FCSModelsTests/Fixtures/tiny-unet-levels"
LAYERS = [1, 2, 3, 1]
TIMESTEPS = [999, 0]


def main():
    torch.set_num_threads(1)
    config = json.loads((ROOT / "Tests/FCSModelsTests/Fixtures/tiny-sd/unet/config.json").read_text())
    config = {k: v for k, v in config.items() if not k.startswith("_")} | {"transformer_layers_per_block": LAYERS}
    torch.manual_seed(0)
    unet = UNet2DConditionModel.from_config(config)
    with torch.no_grad():
        redraw(unet)
    unet.eval()
    names = unet.state_dict()
    assert "down_blocks.2.attentions.0.transformer_blocks.2.norm1.weight" in names
    assert "up_blocks.1.attentions.0.transformer_blocks.2.norm1.weight" in names  # up level 1 mirrors down level 2
    assert "mid_block.attentions.0.transformer_blocks.1.norm1.weight" not in names  # the mid block: the last entry, 1
    OUT.mkdir(parents=True, exist_ok=True)
    unet.save_pretrained(OUT, safe_serialization=True)
    g = torch.Generator().manual_seed(5)
    text, sample = torch.randn(2, 77, 32, generator=g), torch.randn(2, 4, 8, 8, generator=g)
    ref = {"text": text, "sample": sample}
    with torch.no_grad():
        for t in TIMESTEPS:
            ref[f"t{t}.out"] = unet(sample, t, encoder_hidden_states=text).sample
    save_file({k: v.contiguous() for k, v in ref.items()}, OUT / "reference.safetensors",
              metadata={"timesteps": json.dumps(TIMESTEPS), "transformer_layers_per_block": json.dumps(LAYERS)})
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
