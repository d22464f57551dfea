#!/usr/bin/env python3
"""Tiny random-weight SD 1.x networks and their reference outputs, for the Swift parity tests.

Writes Tests/FCSModelsTests/Fixtures/tiny-sd/ in the diffusers folder layout, seeded, float32:
  text_encoder/config.json + model.safetensors  (transformers CLIPTextModel, quick-GELU, causal)
  reference.safetensors                         (inputs and outputs of each network)
The configs are small but keep every block type of the full model.

    .venv-tools/bin/python tools/make_tiny_models.py
"""
import json
import os

import torch
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests/FCSModelsTests/Fixtures/tiny-sd")

TEXT_CONFIG = dict(vocab_size=1000, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                   max_position_embeddings=77, hidden_act="quick_gelu", layer_norm_eps=1e-5,
                   bos_token_id=998, eos_token_id=999, pad_token_id=999)


def randomize(module):
    """Normal weights with enough spread that every layer visibly matters (init would zero some)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.randn_like(p) * (0.5 if p.dim() > 1 else 0.2) + (1.0 if "norm" in name and name.endswith("weight") else 0.0))


def text_encoder(reference):
    torch.manual_seed(0)
    model = CLIPTextModel(CLIPTextConfig(**TEXT_CONFIG)).eval()
    randomize(model)
    folder = os.path.join(OUT, "text_encoder")
    os.makedirs(folder, exist_ok=True)
    # transformers 5 names the weights from "embeddings."; the SD 1.x files on the hub (written by
    # transformers 4) have them under "text_model.", so the fixture uses that layout
    state = {k if k.startswith("text_model.") else "text_model." + k: v.contiguous()
             for k, v in model.state_dict().items() if "position_ids" not in k}
    save_file(state, os.path.join(folder, "model.safetensors"))
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(dict(TEXT_CONFIG, architectures=["CLIPTextModel"], model_type="clip_text_model"), f, indent=2, sort_keys=True)
    ids = torch.randint(0, 998, (2, 77))
    ids[:, 0] = 998
    ids[0, 9:] = 999  # a short prompt padded with <|endoftext|>
    ids[1, 76] = 999
    with torch.no_grad():
        out = model(input_ids=ids).last_hidden_state
    reference["text_encoder.input_ids"] = ids.float()
    reference["text_encoder.last_hidden_state"] = out


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    reference = {}
    text_encoder(reference)
    save_file({k: v.contiguous() for k, v in reference.items()}, os.path.join(OUT, "reference.safetensors"))
    for dirpath, _, files in os.walk(OUT):
        for name in sorted(files):
            path = os.path.join(dirpath, name)
            print(f"{os.path.relpath(path, ROOT)}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
