"""Writes Tests/FCSModelsTests/Fixtures/manifest/sd15_manifest.json: every tensor name and shape of
Stable Diffusion 1.5 in the diffusers folder layout and in the original CompVis/LDM single-file
layout, the single-file -> diffusers name map, and the three configs.

Run with the reference environment (no network, no weights needed: models are built on the meta device):

    /work/venv-ref/bin/python tools/make_sd15_manifest.py [--imaginairy-maps DIR]

How the single-file layout is obtained: `ldm_names_for_unet/vae/text_encoder` below give, for each
diffusers tensor, the LDM name (the inverse of diffusers' own conversion). The script then builds a dummy
LDM checkpoint (each tensor is a 1-element tensor expanded to its LDM shape, holding its own index) and
runs diffusers' converters (`diffusers.loaders.single_file_utils.convert_ldm_unet_checkpoint`,
`convert_ldm_vae_checkpoint`, `convert_ldm_clip_checkpoint`, plus the `text_model.` prefix handling of
`create_diffusers_clip_model_from_ldm`) on it, and fails unless they give back exactly the diffusers
names, with the diffusers shapes, each tensor coming from the LDM tensor we paired it with. So the map is
the one diffusers 0.42.1 uses, not our guess. `--imaginairy-maps` optionally cross-checks against the
module-name maps of imaginAIry 15.0.0 (MIT; `pip download --no-deps imaginAIry==15.0.0`, unzip, pass
`.../imaginairy/weight_management/weight_maps`); it only prints, it never changes the output.

tools/make_tiny_models.py imports the mapping functions from here (same rules, tiny config).

Names in the "diffusers" layout are the names in the published SD 1.5 files. For the text encoder that
is `text_model.*`: transformers >= 5.6 builds CLIPTextModel without the `text_model.` level and
save_pretrained writes the names without it, but every published SD 1.x `text_encoder/model.safetensors`
has it, and transformers loads both. A loader should accept both.

The output is deterministic (same environment -> same bytes).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import OrderedDict
from pathlib import Path

import torch

import diffusers
import transformers
from diffusers import AutoencoderKL, UNet2DConditionModel
from diffusers.loaders import single_file_utils as sfu
from transformers import CLIPTextConfig, CLIPTextModel

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/FCSModelsTests/Fixtures/manifest/sd15_manifest.json"

# --- SD 1.5 configs, as in stable-diffusion-v1-5's unet/, vae/, text_encoder/ config.json ---------------
# (scaling_factor was added to diffusers' AutoencoderKL later; 0.18215 is its default and SD 1.x's value.)
SD15_UNET_CONFIG = OrderedDict([
    ("_class_name", "UNet2DConditionModel"),
    ("_diffusers_version", "0.6.0"),
    ("act_fn", "silu"),
    ("attention_head_dim", 8),
    ("block_out_channels", [320, 640, 1280, 1280]),
    ("center_input_sample", False),
    ("cross_attention_dim", 768),
    ("down_block_types", ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]),
    ("downsample_padding", 1),
    ("flip_sin_to_cos", True),
    ("freq_shift", 0),
    ("in_channels", 4),
    ("layers_per_block", 2),
    ("mid_block_scale_factor", 1),
    ("norm_eps", 1e-05),
    ("norm_num_groups", 32),
    ("out_channels", 4),
    ("sample_size", 64),
    ("up_block_types", ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]),
])

SD15_VAE_CONFIG = OrderedDict([
    ("_class_name", "AutoencoderKL"),
    ("_diffusers_version", "0.6.0"),
    ("act_fn", "silu"),
    ("block_out_channels", [128, 256, 512, 512]),
    ("down_block_types", ["DownEncoderBlock2D"] * 4),
    ("in_channels", 3),
    ("latent_channels", 4),
    ("layers_per_block", 2),
    ("norm_num_groups", 32),
    ("out_channels", 3),
    ("sample_size", 512),
    ("scaling_factor", 0.18215),
    ("up_block_types", ["UpDecoderBlock2D"] * 4),
])

# openai/clip-vit-large-patch14 text tower. bos/eos/pad ids 0/2/1 are what the published file says
# (the tokenizer's real ids are 49406/49407/49407); they only matter for the pooled output.
SD15_TEXT_CONFIG = OrderedDict([
    ("_name_or_path", "openai/clip-vit-large-patch14"),
    ("architectures", ["CLIPTextModel"]),
    ("attention_dropout", 0.0),
    ("bos_token_id", 0),
    ("dropout", 0.0),
    ("eos_token_id", 2),
    ("hidden_act", "quick_gelu"),
    ("hidden_size", 768),
    ("initializer_factor", 1.0),
    ("initializer_range", 0.02),
    ("intermediate_size", 3072),
    ("layer_norm_eps", 1e-05),
    ("max_position_embeddings", 77),
    ("model_type", "clip_text_model"),
    ("num_attention_heads", 12),
    ("num_hidden_layers", 12),
    ("pad_token_id", 1),
    ("projection_dim", 768),
    ("torch_dtype", "float32"),
    ("transformers_version", "4.22.0.dev0"),
    ("vocab_size", 49408),
])

LDM_UNET_PREFIX = "model.diffusion_model."
LDM_VAE_PREFIX = "first_stage_model."
LDM_CLIP_PREFIX = "cond_stage_model.transformer."
TEXT_MODEL_PREFIX = "text_model."

# Keys that original SD 1.x checkpoints (v1-5-pruned*.safetensors / .ckpt) typically carry besides the
# three networks. Not derived from diffusers (which ignores them); listed so a loader knows to skip them.
# Shapes for SD 1.x (1000 training steps). EMA checkpoints also carry `model_ema.*` copies of the UNet.
SINGLE_FILE_NON_NETWORK_KEYS = OrderedDict(
    [(k, {"shape": [1000], "dtype": "F32"}) for k in [
        "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod",
        "sqrt_one_minus_alphas_cumprod", "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod",
        "sqrt_recipm1_alphas_cumprod", "posterior_variance", "posterior_log_variance_clipped",
        "posterior_mean_coef1", "posterior_mean_coef2"]]
    + [("cond_stage_model.transformer.text_model.embeddings.position_ids", {"shape": [1, 77], "dtype": "I64"}),
       ("model_ema.decay", {"shape": [], "dtype": "F32"}),
       ("model_ema.num_updates", {"shape": [], "dtype": "I32"})]
)


def model_kwargs(config: dict) -> dict:
    """Config dict -> constructor kwargs (drops the metadata keys that start with '_')."""
    return {k: v for k, v in config.items() if not k.startswith("_")}


def text_config_from(config: dict) -> CLIPTextConfig:
    drop = {"_name_or_path", "architectures", "model_type", "torch_dtype", "transformers_version"}
    return CLIPTextConfig(**{k: v for k, v in config.items() if k not in drop})


def build_models(unet_cfg: dict, vae_cfg: dict, text_cfg: dict, device: str = "meta"):
    with torch.device(device):
        unet = UNet2DConditionModel(**model_kwargs(unet_cfg))
        vae = AutoencoderKL(**model_kwargs(vae_cfg))
        text = CLIPTextModel(text_config_from(text_cfg))
    return unet, vae, text


def text_state_dict_names(text_model: CLIPTextModel) -> list[str]:
    """On-disk names of the text encoder (with the `text_model.` level, as in published SD files)."""
    return [k if k.startswith(TEXT_MODEL_PREFIX) else TEXT_MODEL_PREFIX + k for k in text_model.state_dict()]


def shapes(sd: dict) -> "OrderedDict[str, list[int]]":
    return OrderedDict((k, list(v.shape)) for k, v in sd.items())


# --- diffusers name -> LDM name (inverse of diffusers' single_file_utils conversion) ------------------

_UNET_RESNET = [("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("norm2", "out_layers.0"),
                ("conv2", "out_layers.3"), ("time_emb_proj", "emb_layers.1"), ("conv_shortcut", "skip_connection")]


def _unet_resnet_param(rest: str) -> str:
    module, _, param = rest.partition(".")
    for d, l in _UNET_RESNET:
        if module == d:
            return f"{l}.{param}"
    raise KeyError(f"unknown UNet resnet parameter {rest}")


def ldm_name_for_unet(name: str, config: dict) -> str:
    """diffusers UNet2DConditionModel name -> name under `model.diffusion_model.` (SD 1.x/2.x UNet)."""
    L = config["layers_per_block"]
    up_types = config["up_block_types"]
    fixed = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
             "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2"}
    module, _, param = name.rpartition(".")
    if module in fixed:
        return f"{fixed[module]}.{param}"
    m = re.fullmatch(r"down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)", name)
    if m:
        b, kind, j, rest = int(m[1]), m[2], int(m[3]), m[4]
        i = 1 + b * (L + 1) + j
        return f"input_blocks.{i}.0.{_unet_resnet_param(rest)}" if kind == "resnets" else f"input_blocks.{i}.1.{rest}"
    m = re.fullmatch(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(\w+)", name)
    if m:
        return f"input_blocks.{1 + int(m[1]) * (L + 1) + L}.0.op.{m[2]}"
    m = re.fullmatch(r"mid_block\.(resnets|attentions)\.(\d+)\.(.+)", name)
    if m:
        kind, j, rest = m[1], int(m[2]), m[3]
        if kind == "resnets":
            return f"middle_block.{2 * j}.{_unet_resnet_param(rest)}"
        return f"middle_block.{2 * j + 1}.{rest}"
    m = re.fullmatch(r"up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)", name)
    if m:
        b, kind, j, rest = int(m[1]), m[2], int(m[3]), m[4]
        i = b * (L + 1) + j
        return f"output_blocks.{i}.0.{_unet_resnet_param(rest)}" if kind == "resnets" else f"output_blocks.{i}.1.{rest}"
    m = re.fullmatch(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(\w+)", name)
    if m:
        b = int(m[1])
        slot = 2 if up_types[b].startswith("CrossAttn") else 1  # after the attention, if there is one
        return f"output_blocks.{b * (L + 1) + L}.{slot}.conv.{m[2]}"
    raise KeyError(f"no LDM name for UNet tensor {name}")


_VAE_ATTN = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def ldm_name_for_vae(name: str, config: dict) -> str:
    """diffusers AutoencoderKL name -> name under `first_stage_model.`."""
    n = len(config["block_out_channels"])
    m = re.fullmatch(r"(encoder|decoder)\.conv_norm_out\.(\w+)", name)
    if m:
        return f"{m[1]}.norm_out.{m[2]}"
    if re.fullmatch(r"((encoder|decoder)\.conv_(in|out)|(post_)?quant_conv)\.\w+", name):
        return name
    m = re.fullmatch(r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(\w+)\.(\w+)", name)
    if m:
        return f"encoder.down.{m[1]}.block.{m[2]}.{m[3].replace('conv_shortcut', 'nin_shortcut')}.{m[4]}"
    m = re.fullmatch(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(\w+)", name)
    if m:
        return f"encoder.down.{m[1]}.downsample.conv.{m[2]}"
    m = re.fullmatch(r"decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(\w+)\.(\w+)", name)
    if m:  # diffusers counts decoder blocks from the bottleneck up, LDM from the output down
        return f"decoder.up.{n - 1 - int(m[1])}.block.{m[2]}.{m[3].replace('conv_shortcut', 'nin_shortcut')}.{m[4]}"
    m = re.fullmatch(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(\w+)", name)
    if m:
        return f"decoder.up.{n - 1 - int(m[1])}.upsample.conv.{m[2]}"
    m = re.fullmatch(r"(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(\w+)\.(\w+)", name)
    if m:
        return f"{m[1]}.mid.block_{int(m[2]) + 1}.{m[3].replace('conv_shortcut', 'nin_shortcut')}.{m[4]}"
    m = re.fullmatch(r"(encoder|decoder)\.mid_block\.attentions\.0\.(group_norm|to_q|to_k|to_v|to_out\.0)\.(\w+)", name)
    if m:
        return f"{m[1]}.mid.attn_1.{_VAE_ATTN[m[2]]}.{m[3]}"
    raise KeyError(f"no LDM name for VAE tensor {name}")


def ldm_shape_for_vae(ldm_name: str, shape: list[int]) -> list[int]:
    """LDM's VAE attention projections are 1x1 convolutions: [C, C, 1, 1] where diffusers has Linear [C, C]."""
    if re.search(r"\.mid\.attn_1\.(q|k|v|proj_out)\.weight$", ldm_name) and len(shape) == 2:
        return shape + [1, 1]
    return list(shape)


def ldm_name_for_text(name: str) -> str:
    """diffusers/transformers CLIPTextModel name (with or without `text_model.`) -> name under `cond_stage_model.transformer.`."""
    return name if name.startswith(TEXT_MODEL_PREFIX) else TEXT_MODEL_PREFIX + name


def single_file_layout(unet_sd: dict, vae_sd: dict, text_sd: dict, unet_cfg: dict, vae_cfg: dict):
    """Returns (ldm_shapes, ldm_to_component_and_name). Text names are taken with the `text_model.` level."""
    ldm_shapes: "OrderedDict[str, list[int]]" = OrderedDict()
    to_diffusers: "OrderedDict[str, tuple[str, str]]" = OrderedDict()

    def add(ldm, comp, dname, shape):
        if ldm in ldm_shapes:
            raise ValueError(f"two tensors map to {ldm}")
        ldm_shapes[ldm] = shape
        to_diffusers[ldm] = (comp, dname)

    for k, v in unet_sd.items():
        add(LDM_UNET_PREFIX + ldm_name_for_unet(k, unet_cfg), "unet", k, list(v.shape))
    for k, v in vae_sd.items():
        ldm = ldm_name_for_vae(k, vae_cfg)
        add(LDM_VAE_PREFIX + ldm, "vae", k, ldm_shape_for_vae(ldm, list(v.shape)))
    for k, v in text_sd.items():
        dname = ldm_name_for_text(k)
        add(LDM_CLIP_PREFIX + dname, "text_encoder", dname, list(v.shape))
    return ldm_shapes, to_diffusers


def diffusers_convert(ckpt: dict, unet_cfg: dict, vae_cfg: dict, with_clip: bool = True) -> dict:
    """Runs diffusers' own single-file converters. Returns {component: {diffusers_name: tensor}} with the
    text encoder names given the `text_model.` level (diffusers strips it right after for transformers>=5.6).
    with_clip=False: UNet and VAE only (SD 2.x's OpenCLIP tower has its own converter, make_sd21_manifest.py)."""
    unet = sfu.convert_ldm_unet_checkpoint(dict(ckpt), config=dict(unet_cfg))
    vae = sfu.convert_ldm_vae_checkpoint(dict(ckpt), config=dict(vae_cfg))
    if not with_clip:
        return {"unet": unet, "vae": vae}
    assert sfu.is_clip_model(ckpt), "diffusers would not recognise the CLIP text encoder"
    text = sfu.convert_ldm_clip_checkpoint(dict(ckpt))
    return {"unet": unet, "vae": vae, "text_encoder": text}


def verify_with_diffusers(ldm_shapes, to_diffusers, diffusers_shapes, unet_cfg, vae_cfg, with_clip: bool = True) -> None:
    """Dummy LDM checkpoint: tensor number i is the value i expanded to its LDM shape (no memory).
    diffusers' conversion must return every diffusers name exactly once, with the diffusers shape and
    with the value of the LDM tensor we paired it with."""
    names = list(ldm_shapes)
    ckpt = {}
    for i, n in enumerate(names):
        s = ldm_shapes[n]
        ckpt[n] = torch.tensor([float(i)], dtype=torch.float64).reshape([1] * len(s)).expand(s) if s else \
            torch.tensor(float(i), dtype=torch.float64)
    converted = diffusers_convert(ckpt, unet_cfg, vae_cfg, with_clip)
    index = {n: i for i, n in enumerate(names)}
    for comp in converted:
        expect = diffusers_shapes[comp]
        got = converted[comp]
        missing = sorted(set(expect) - set(got))
        extra = sorted(set(got) - set(expect))
        if missing or extra:
            raise AssertionError(f"{comp}: diffusers conversion missing {missing[:5]}.. extra {extra[:5]}..")
        for dname, t in got.items():
            if list(t.shape) != expect[dname]:
                raise AssertionError(f"{comp}.{dname}: converted shape {list(t.shape)} != {expect[dname]}")
        for ldm, (c, dname) in to_diffusers.items():
            if c == comp:
                v = converted[comp][dname].reshape(-1)[0].item() if converted[comp][dname].numel() else None
                if v != float(index[ldm]):
                    raise AssertionError(f"{comp}.{dname} came from LDM tensor #{v}, expected {ldm}")
    print("  diffusers' converters reproduce every tensor name, shape and pairing")


def crosscheck_imaginairy(maps_dir: Path, to_diffusers) -> None:
    pairs = [("unet", "stable-diffusion-1-5_unet_compvis_TO_diffusers.json", "model."),
             ("vae", "stable-diffusion-1-5_vae_compvis_TO_diffusers.json", LDM_VAE_PREFIX),
             ("text_encoder", "stable-diffusion-1-5_text_compvis_TO_diffusers.json", "cond_stage_model.")]
    for comp, fname, prefix in pairs:
        mapping = json.loads((maps_dir / fname).read_text())["mapping"]
        ours = {ldm: d for ldm, (c, d) in to_diffusers.items() if c == comp}
        ours_modules = {}
        for ldm, d in ours.items():
            ours_modules.setdefault(ldm.rsplit(".", 1)[0], set()).add(d.rsplit(".", 1)[0])
        disagree, unknown = [], []
        for src, dst in mapping.items():
            key = prefix + src
            if key not in ours_modules:
                unknown.append(src)
            elif ours_modules[key] != {dst}:
                disagree.append((src, dst, sorted(ours_modules[key])))
        not_in_theirs = sorted(set(ours_modules) - {prefix + s for s in mapping})
        print(f"  imaginAIry {comp}: {len(mapping)} modules, disagree {len(disagree)} {disagree[:3]}, "
              f"theirs-only {unknown[:5]}, ours-only {not_in_theirs[:5]}")


# --- compact JSON: dicts one entry per line, lists inline -----------------------------------------------

def compact_json(obj, indent: int = 0) -> str:
    pad = " " * indent
    leaf = lambda v: not isinstance(v, (dict, list)) or (isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v))
    if isinstance(obj, dict) and len(obj) <= 3 and all(leaf(v) for v in obj.values()):
        return json.dumps(obj, separators=(", ", ": "), ensure_ascii=False)
    if isinstance(obj, list) and sum(len(str(x)) for x in obj) > 200:
        return "[\n" + ",\n".join(f"{pad}  {compact_json(x, indent + 1)}" for x in obj) + f"\n{pad}]"
    if isinstance(obj, dict):
        items = [f'{pad} {json.dumps(k)}: {compact_json(v, indent + 1)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--imaginairy-maps", type=Path, help="imaginairy/weight_management/weight_maps folder (optional cross-check)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    unet, vae, text = build_models(SD15_UNET_CONFIG, SD15_VAE_CONFIG, SD15_TEXT_CONFIG)
    unet_sd, vae_sd, text_sd = unet.state_dict(), vae.state_dict(), text.state_dict()
    text_names = text_state_dict_names(text)
    diff = OrderedDict([("unet", shapes(unet_sd)), ("vae", shapes(vae_sd)),
                        ("text_encoder", OrderedDict((n, list(v.shape)) for n, v in zip(text_names, text_sd.values())))])
    # The step of create_diffusers_clip_model_from_ldm after convert_ldm_clip_checkpoint: when CLIPTextModel
    # has no `text_model` wrapper (transformers >= 5.6) it strips that prefix; the result must be the module's names.
    stripped = [n.removeprefix(TEXT_MODEL_PREFIX) if not hasattr(text, "text_model") else n for n in text_names]
    if stripped != list(text_sd):
        raise AssertionError("text encoder names do not round-trip through the text_model. prefix")
    text_buffers = [n for n, _ in text.named_buffers() if n in text_sd]
    if text_buffers:
        raise AssertionError(f"text encoder state_dict holds buffers {text_buffers}")

    unet_full = dict(unet.config)
    vae_full = dict(vae.config)
    ldm_shapes, to_diff = single_file_layout(unet_sd, vae_sd, text_sd, unet_full, vae_full)
    verify_with_diffusers(ldm_shapes, to_diff, diff, unet_full, vae_full)
    if args.imaginairy_maps:
        crosscheck_imaginairy(args.imaginairy_maps, to_diff)

    squeezed = [k for k, (c, d) in to_diff.items() if ldm_shapes[k] != diff[c][d]]
    counts = OrderedDict((c, OrderedDict([("tensors", len(s)), ("parameters", sum(_numel(v) for v in s.values()))]))
                         for c, s in diff.items())
    counts["single_file"] = OrderedDict([("tensors", len(ldm_shapes))])

    manifest = OrderedDict()
    manifest["format"] = "fcs-sd15-manifest/1"
    manifest["generated_by"] = "tools/make_sd15_manifest.py"
    manifest["versions"] = OrderedDict([("diffusers", diffusers.__version__), ("transformers", transformers.__version__),
                                        ("torch", torch.__version__.split("+")[0])])
    manifest["notes"] = [
        "diffusers: tensor names/shapes of the diffusers folder layout (unet/diffusion_pytorch_model.safetensors, vae/..., text_encoder/model.safetensors).",
        "text_encoder names carry the 'text_model.' level as in every published SD 1.x file; transformers>=5.6 save_pretrained writes them without it. Accept both.",
        "Older text_encoder files (transformers<4.31) also hold 'text_model.embeddings.position_ids' (I64 [1,77]); it is not a weight.",
        "single_file: names of the original CompVis/LDM checkpoint (v1-5-pruned*.safetensors). single_file_to_diffusers maps each to its diffusers name; the component follows from the prefix (single_file_prefixes).",
        "single_file_squeezed: LDM VAE attention q/k/v/proj_out weights are 1x1 conv [C,C,1,1]; diffusers has Linear [C,C] (drop the trailing 1s).",
        "single_file_non_network_keys: other keys found in original checkpoints (not derived from diffusers, which ignores them); skip them.",
        "attention_head_dim in the SD 1.x UNet config is the number of heads (8), not the head size (a diffusers naming quirk).",
        "configs: the config.json dicts used (published SD 1.5 values); configs_resolved: the same with every diffusers/transformers default filled in.",
    ]
    manifest["counts"] = counts
    manifest["configs"] = OrderedDict([("unet", SD15_UNET_CONFIG), ("vae", SD15_VAE_CONFIG), ("text_encoder", SD15_TEXT_CONFIG)])
    text_resolved = text.config.to_dict()
    for k in ("transformers_version", "dtype", "torch_dtype", "_name_or_path", "output_attentions", "output_hidden_states",
              "return_dict", "chunk_size_feed_forward", "id2label", "label2id", "problem_type", "tie_word_embeddings",
              "is_encoder_decoder", "_attn_implementation_autoset"):
        text_resolved.pop(k, None)
    manifest["configs_resolved"] = OrderedDict([
        ("unet", json.loads(unet.to_json_string())), ("vae", json.loads(vae.to_json_string())),
        ("text_encoder", OrderedDict(sorted(text_resolved.items())))])
    for c in ("unet", "vae"):
        manifest["configs_resolved"][c].pop("_diffusers_version", None)
    manifest["diffusers"] = diff
    manifest["single_file_prefixes"] = OrderedDict([(LDM_UNET_PREFIX, "unet"), (LDM_VAE_PREFIX, "vae"), (LDM_CLIP_PREFIX, "text_encoder")])
    manifest["single_file"] = ldm_shapes
    manifest["single_file_to_diffusers"] = OrderedDict((k, d) for k, (c, d) in to_diff.items())
    manifest["single_file_squeezed"] = squeezed
    manifest["single_file_non_network_keys"] = SINGLE_FILE_NON_NETWORK_KEYS

    text_out = compact_json(manifest) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text_out, encoding="utf-8")
    for c, s in counts.items():
        print(f"  {c}: {dict(s)}")
    print(f"  squeezed (LDM [C,C,1,1] -> diffusers [C,C]): {len(squeezed)}")
    print(f"wrote {args.out.relative_to(ROOT)} ({args.out.stat().st_size} bytes)")


def _numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


if __name__ == "__main__":
    main()
