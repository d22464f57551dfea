"""Writes Tests/FCSModelsTests/Fixtures/manifest/sd21_manifest.json: every tensor name and shape of
Stable Diffusion 2.1 (stabilityai/stable-diffusion-2-1, 768-v) in the diffusers folder layout and in the
original single-file layout (v2-1_768-ema-pruned.safetensors: `model.diffusion_model.*`,
`first_stage_model.*`, the OpenCLIP ViT-H/14 text tower under `cond_stage_model.model.*`), the
single-file -> diffusers name map, and the configs.

Run with the reference environment (no network, no weights: models are built on the meta device):

    /work/venv-ref/bin/python tools/make_sd21_manifest.py

The UNet and VAE names follow tools/make_sd15_manifest.py's inverse of diffusers' conversion (SD 2.x
has the same block structure; its transformers' proj_in / proj_out are Linear, [C, C]). The text tower
is OpenCLIP's: `token_embedding.weight`, `positional_embedding`, `transformer.resblocks.N.{ln_1, attn.in_proj_weight
/ in_proj_bias (q, k, v stacked along dim 0), attn.out_proj, ln_2, mlp.c_fc, mlp.c_proj}`, `ln_final`, plus
three tensors SD's pipelines never use: the 24th layer (SD 2.x conditions on the penultimate layer, which
is why diffusers' config has num_hidden_layers 23), `text_projection` and `logit_scale`.

As for SD 1.5, the map is checked against diffusers' own converters (`convert_ldm_unet_checkpoint`,
`convert_ldm_vae_checkpoint`, `convert_open_clip_checkpoint`) on a dummy checkpoint whose tensors hold
their own index plus their row number, so a wrong pairing or a wrong q/k/v split order fails.
The output is deterministic.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import OrderedDict
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

import diffusers  # noqa: E402
import transformers  # noqa: E402
from diffusers.loaders import single_file_utils as sfu  # noqa: E402

import make_sd15_manifest as m15  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/FCSModelsTests/Fixtures/manifest/sd21_manifest.json"

# --- SD 2.1 (768-v) configs, as in stabilityai/stable-diffusion-2-1's config files ------------------------
SD21_UNET_CONFIG = OrderedDict(m15.SD15_UNET_CONFIG)
SD21_UNET_CONFIG.update(_diffusers_version="0.10.0.dev0", attention_head_dim=[5, 10, 20, 20], cross_attention_dim=1024,
                        dual_cross_attention=False, num_class_embeds=None, only_cross_attention=False, sample_size=96,
                        use_linear_projection=True, upcast_attention=True)
SD21_VAE_CONFIG = OrderedDict(m15.SD15_VAE_CONFIG)
SD21_VAE_CONFIG.update(_diffusers_version="0.10.0.dev0", sample_size=768)
SD21_TEXT_CONFIG = OrderedDict(m15.SD15_TEXT_CONFIG)
SD21_TEXT_CONFIG.update(_name_or_path="hf-models/stable-diffusion-v2-768x768/text_encoder", hidden_act="gelu", hidden_size=1024,
                        intermediate_size=4096, num_attention_heads=16, num_hidden_layers=23, projection_dim=512,
                        transformers_version="4.25.0.dev0")
SD21_SCHEDULER_CONFIG = OrderedDict([
    ("_class_name", "DDIMScheduler"), ("beta_end", 0.012), ("beta_schedule", "scaled_linear"), ("beta_start", 0.00085),
    ("clip_sample", False), ("num_train_timesteps", 1000), ("prediction_type", "v_prediction"), ("set_alpha_to_one", False),
    ("skip_prk_steps", True), ("steps_offset", 1), ("trained_betas", None)])

OPEN_CLIP_PREFIX = "cond_stage_model.model."
_OPEN_CLIP_FIXED = OrderedDict([
    ("text_model.embeddings.token_embedding.weight", "token_embedding.weight"),
    ("text_model.embeddings.position_embedding.weight", "positional_embedding"),
    ("text_model.final_layer_norm.weight", "ln_final.weight"), ("text_model.final_layer_norm.bias", "ln_final.bias")])
_OPEN_CLIP_LAYER = OrderedDict([
    ("layer_norm1", "ln_1"), ("layer_norm2", "ln_2"), ("self_attn.out_proj", "attn.out_proj"),
    ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj")])


def open_clip_layout(text_sd: dict, layers: int) -> tuple["OrderedDict[str, list[int]]", "OrderedDict[str, object]", list[str]]:
    """(single-file shapes, key -> diffusers name or [q, k, v] names, unused keys) of an OpenCLIP text tower whose
    diffusers model keeps `layers` layers; the file has one layer more, a text_projection and a logit_scale."""
    names = {m15.ldm_name_for_text(k): list(v.shape) for k, v in text_sd.items()}
    width = names["text_model.embeddings.token_embedding.weight"][1]
    shapes, to_diff = OrderedDict(), OrderedDict()
    for d, ldm in _OPEN_CLIP_FIXED.items():
        shapes[OPEN_CLIP_PREFIX + ldm], to_diff[OPEN_CLIP_PREFIX + ldm] = names[d], d
    unused = []
    for i in range(layers + 1):
        diff_layer, ldm_layer = f"text_model.encoder.layers.{i}.", f"{OPEN_CLIP_PREFIX}transformer.resblocks.{i}."
        source = f"text_model.encoder.layers.{min(i, layers - 1)}."  # the unused last layer is shaped like the others
        for kind in ("weight", "bias"):
            key = f"{ldm_layer}attn.in_proj_{kind}"
            q = names[f"{source}self_attn.q_proj.{kind}"]
            shapes[key] = [3 * q[0]] + q[1:]
            to_diff[key] = [f"{diff_layer}self_attn.{p}_proj.{kind}" for p in "qkv"]
        for d, ldm in _OPEN_CLIP_LAYER.items():
            for kind in ("weight", "bias"):
                key = f"{ldm_layer}{ldm}.{kind}"
                shapes[key], to_diff[key] = names[f"{source}{d}.{kind}"], f"{diff_layer}{d}.{kind}"
        if i == layers:
            unused += [k for k in shapes if k.startswith(ldm_layer)]
    for key, shape in ((OPEN_CLIP_PREFIX + "text_projection", [width, width]), (OPEN_CLIP_PREFIX + "logit_scale", [])):
        shapes[key] = shape
        unused.append(key)
    for key in unused:
        to_diff.pop(key, None)
    return shapes, to_diff, unused


def diffusers_convert_open_clip(ckpt: dict, text_model, layers: int) -> dict:
    """diffusers' convert_open_clip_checkpoint, with the `text_model.` level kept. diffusers drops the unused
    last layer by a fixed list of resblocks.23 keys (ViT-H's 24th); for another depth the same layer is dropped here."""
    text = sfu.convert_open_clip_checkpoint(text_model, dict(ckpt), prefix=OPEN_CLIP_PREFIX)
    text.pop("text_projection.weight", None)  # CLIPTextModel has no projection; diffusers' loader skips it too
    return {k: v for k, v in text.items() if not k.startswith(f"text_model.encoder.layers.{layers}.")}


def verify_open_clip(shapes, to_diff, diffusers_shapes: dict, text_model, layers: int) -> None:
    """Dummy OpenCLIP checkpoint: tensor i holds 1000 * i + its row number, so the converted tensors name their
    source and the rows they came from."""
    names = list(shapes)
    ckpt = {}
    for i, n in enumerate(names):
        s = shapes[n]
        if s:
            rows = torch.arange(s[0], dtype=torch.float64).reshape([s[0]] + [1] * (len(s) - 1))
            ckpt[n] = (1000.0 * i + rows).expand(s)
        else:
            ckpt[n] = torch.tensor(1000.0 * i, dtype=torch.float64)
    got = diffusers_convert_open_clip(ckpt, text_model, layers)
    if set(got) != set(diffusers_shapes):
        raise AssertionError(f"text: diffusers conversion differs: {sorted(set(got) ^ set(diffusers_shapes))[:5]}")
    for key, target in to_diff.items():
        parts = target if isinstance(target, list) else [target]
        for p, name in enumerate(parts):
            t = got[name]
            if list(t.shape) != diffusers_shapes[name]:
                raise AssertionError(f"{name}: converted shape {list(t.shape)} != {diffusers_shapes[name]}")
            first = t.reshape(t.shape[0], -1)[:, 0] if t.dim() else t.reshape(1)
            rows = t.shape[0] if t.dim() else 1
            expected = 1000.0 * names.index(key) + p * rows + torch.arange(rows, dtype=torch.float64) if t.dim() else \
                torch.tensor([1000.0 * names.index(key)], dtype=torch.float64)
            if not torch.equal(first.double(), expected):
                raise AssertionError(f"{name}: not part {p} of {key}")
    print("  diffusers' convert_open_clip_checkpoint reproduces every text name, shape, pairing and q/k/v split")


def build_manifest():
    unet, vae, text = m15.build_models(SD21_UNET_CONFIG, SD21_VAE_CONFIG, SD21_TEXT_CONFIG)
    unet_sd, vae_sd, text_sd = unet.state_dict(), vae.state_dict(), text.state_dict()
    text_names = m15.text_state_dict_names(text)
    diff = OrderedDict([("unet", m15.shapes(unet_sd)), ("vae", m15.shapes(vae_sd)),
                        ("text_encoder", OrderedDict((n, list(v.shape)) for n, v in zip(text_names, text_sd.values())))])
    unet_cfg, vae_cfg = dict(unet.config), dict(vae.config)
    ldm_shapes, to_diff = m15.single_file_layout(unet_sd, vae_sd, {}, unet_cfg, vae_cfg)
    m15.verify_with_diffusers(ldm_shapes, to_diff, diff, unet_cfg, vae_cfg, with_clip=False)
    layers = SD21_TEXT_CONFIG["num_hidden_layers"]
    clip_shapes, clip_map, unused = open_clip_layout(text_sd, layers)
    verify_open_clip(clip_shapes, clip_map, diff["text_encoder"], text, layers)
    return diff, ldm_shapes, to_diff, clip_shapes, clip_map, unused, unet, vae, text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    diff, ldm_shapes, to_diff, clip_shapes, clip_map, unused, unet, vae, text = build_manifest()
    single = OrderedDict(ldm_shapes)
    single.update(clip_shapes)
    mapping = OrderedDict((k, d) for k, (_, d) in to_diff.items())
    mapping.update(clip_map)
    manifest = OrderedDict()
    manifest["format"] = "fcs-sd21-manifest/1"
    manifest["generated_by"] = "tools/make_sd21_manifest.py"
    manifest["versions"] = OrderedDict([("diffusers", diffusers.__version__), ("transformers", transformers.__version__),
                                        ("torch", torch.__version__.split("+")[0])])
    manifest["notes"] = [
        "diffusers: tensor names/shapes of the diffusers folder layout; text_encoder names with the 'text_model.' level.",
        "single_file: names of the original checkpoint (v2-1_768-ema-pruned.safetensors); the text tower is OpenCLIP's under cond_stage_model.model.",
        "single_file_to_diffusers: a name, or a list of names stacked along dim 0 in that order (in_proj_weight/in_proj_bias = q, k, v).",
        "single_file_unused: network tensors SD 2.x never uses: the 24th text layer (it conditions on the penultimate; num_hidden_layers 23), text_projection, logit_scale.",
        "attention_head_dim in the SD 2.x UNet config is the number of heads per level (head width 64), diffusers' naming quirk.",
        "prediction_type (v_prediction for this 768-v model, epsilon for 2.x base) is in the scheduler config only: the weights do not show it.",
    ]
    manifest["counts"] = OrderedDict([(c, len(s)) for c, s in diff.items()] + [("single_file", len(single))])
    manifest["configs"] = OrderedDict([("unet", SD21_UNET_CONFIG), ("vae", SD21_VAE_CONFIG), ("text_encoder", SD21_TEXT_CONFIG),
                                       ("scheduler", SD21_SCHEDULER_CONFIG)])
    manifest["diffusers"] = diff
    manifest["single_file"] = single
    manifest["single_file_to_diffusers"] = mapping
    manifest["single_file_unused"] = unused
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(m15.compact_json(manifest) + "\n", encoding="utf-8")
    print(f"  counts {dict(manifest['counts'])}, unused {len(unused)}")
    print(f"wrote {args.out.relative_to(ROOT)} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
