"""Writes Tests/FCSModelsTests/Fixtures/tiny-sd2/: a tiny random-weight Stable Diffusion 2.x (768-v shaped)
model, float32, with SD 2.1's structure, only narrow, plus PyTorch reference outputs.

    tiny-sd2/model_index.json, scheduler/ (SD 2.1's DDIMScheduler settings: prediction_type v_prediction)
    tiny-sd2/unet/         SD 2.1's UNet: use_linear_projection, upcast_attention, a per-level
                           attention_head_dim list [2, 2, 3, 3] (head widths 2, 4, 4, 4), F32 only
    tiny-sd2/vae/          tools/make_tiny_models.py's tiny VAE (SD 2.x's VAE is SD 1.x's)
    tiny-sd2/text_encoder/ SD 2.1's text tower as diffusers has it: GELU, 2 layers kept (the file below has 3)
    tiny-sd2/tokenizer/    the tiny CLIP vocabulary, with SD 2's pad token "!" (id 0) in both JSON files
    tiny-sd2/tiny-sd2.safetensors   the same weights as one original SD 2.x single file: OpenCLIP names
                           under cond_stage_model.model. (fused q/k/v in_proj), plus the unused last layer,
                           text_projection and logit_scale, and the DDPM buffers
    tiny-sd2/reference.safetensors  inputs and outputs (F32), described in its __metadata__

Run with the reference environment:

    /work/venv-ref/bin/python tools/make_tiny_sd2.py

Reference outputs: the tokenizer's padded ids and the text encoder's last_hidden_state for
make_tiny_models.PROMPTS; the UNet's output (v) at timesteps 999, 500, 0; and two inpainting runs of
tools/reference_sampler.py's sample() with prediction_type "v_prediction" (no guidance, consistent
timesteps; guidance 2 with the official convention; larger h than its ε cases, see CASES), with the
injected noise x_T, z_0, z_1 stored here.

The script checks that diffusers' converters (convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint,
convert_open_clip_checkpoint) give back every tensor of the folder bit for bit from the single file, that
the folder reloads bit for bit and reproduces the stored outputs. Re-running writes identical bytes.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections import OrderedDict
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel  # noqa: E402
from transformers import CLIPTextModel, CLIPTokenizer  # noqa: E402

import make_sd15_manifest as m15  # noqa: E402
import make_sd21_manifest as m21  # noqa: E402
import make_tiny_models as tiny  # noqa: E402
import reference_sampler as rs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/FCSModelsTests/Fixtures/tiny-sd2"

TINY_UNET_CONFIG = OrderedDict(m21.SD21_UNET_CONFIG)
TINY_UNET_CONFIG.update(attention_head_dim=[2, 2, 3, 3], block_out_channels=[4, 8, 12, 12], cross_attention_dim=32,
                        norm_num_groups=4, sample_size=8)
TINY_TEXT_CONFIG = OrderedDict(m21.SD21_TEXT_CONFIG)
TINY_TEXT_CONFIG.update(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2, projection_dim=32,
                        vocab_size=tiny.TINY_TEXT_CONFIG["vocab_size"], bos_token_id=998, eos_token_id=999, pad_token_id=0)
for c in (TINY_UNET_CONFIG,):
    del c["_diffusers_version"]
for k in ("_name_or_path", "torch_dtype", "transformers_version"):
    del TINY_TEXT_CONFIG[k]
SCHEDULER_CONFIG = {k: v for k, v in m21.SD21_SCHEDULER_CONFIG.items() if not k.startswith("_")}
PAD_TOKEN = "!"
TIMESTEPS = [999, 500, 0]
# reference_sampler's cases with 2 Newton steps and larger finite-difference steps h: v-prediction's
# x̂0 = √ᾱ·x − √(1−ᾱ)·v barely moves with x at t = 1000 (√ᾱ ≈ 0.07), and on this random tiny model the ε cases'
# settings (h 0.005, 5 steps) leave runs that differ by 0.1 between float32 and float64, so no comparison of two
# implementations could pass; with these the float32 and float64 runs agree to 3e-4 (checked by hand).
CASES = {"default": dict(rs.CASES["default"], newton_steps=2, learning_rates=[0.5, 0.4], h=0.2),
         "guided_official": dict(rs.CASES["guided_official"], newton_steps=2, learning_rates=[0.5, 0.3], h=0.3)}


def build_tiny():
    torch.manual_seed(0)
    unet, vae, text = m15.build_models(TINY_UNET_CONFIG, tiny.TINY_VAE_CONFIG, TINY_TEXT_CONFIG, device="cpu")
    for model in (unet, vae, text):
        tiny.redraw(model)
        model.eval()
    return unet, vae, text


def write_sd2_tokenizer(folder: Path, merges: list[str]) -> None:
    """make_tiny_models' tokenizer files with SD 2's pad token, as stabilityai/stable-diffusion-2-1's files name it."""
    tiny.write_tokenizer(folder, merges)
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        config = json.loads((folder / name).read_text("utf-8"), object_pairs_hook=OrderedDict)
        config["pad_token"] = PAD_TOKEN
        (folder / name).write_text(json.dumps(config, indent=2) + "\n", "utf-8")


def single_file_state_dict(unet, vae, text) -> OrderedDict:
    unet_sd, vae_sd, text_sd = unet.state_dict(), vae.state_dict(), text.state_dict()
    ldm_shapes, to_diff = m15.single_file_layout(unet_sd, vae_sd, {}, dict(unet.config), dict(vae.config))
    out = OrderedDict()
    by_comp = {"unet": unet_sd, "vae": vae_sd}
    for ldm, (comp, dname) in to_diff.items():
        out[ldm] = by_comp[comp][dname].detach().clone().reshape(ldm_shapes[ldm]).contiguous()
    layers = TINY_TEXT_CONFIG["num_hidden_layers"]
    clip_shapes, clip_map, unused = m21.open_clip_layout(text_sd, layers)
    named = {m15.ldm_name_for_text(k): v for k, v in text_sd.items()}
    extra = torch.Generator().manual_seed(2)  # the unused layer, text_projection: random, not a copy of a used tensor
    for key, shape in clip_shapes.items():
        if key in unused:
            out[key] = torch.tensor(2.6592) if key.endswith("logit_scale") else torch.randn(shape, generator=extra) * 0.2
        elif isinstance(clip_map[key], list):
            out[key] = torch.cat([named[n] for n in clip_map[key]]).detach().clone().contiguous()
        else:
            out[key] = named[clip_map[key]].detach().clone().contiguous()
    out.update(tiny.ddpm_schedule_buffers())
    out["model_ema.decay"] = torch.tensor(0.9999, dtype=torch.float32)
    out["model_ema.num_updates"] = torch.tensor(0, dtype=torch.int32)
    return out


@torch.no_grad()
def reference(unet, vae, text, tok) -> tuple[OrderedDict, dict]:
    R, D = OrderedDict(), OrderedDict()

    def put(name, t, desc):
        R[name] = t.detach().to(torch.float32).clone().contiguous()
        D[name] = desc

    ids = tiny.tokenize(tok, tiny.PROMPTS)
    hs = text(ids).last_hidden_state
    put("text_encoder.input_ids", ids, f"[2,77] ids (as F32) of {json.dumps(tiny.PROMPTS)}, padded with \"!\" (id 0) to 77")
    put("text_encoder.last_hidden_state", hs, "[2,77,32] CLIPTextModel(text_encoder.input_ids).last_hidden_state (GELU, 2 layers)")
    g = torch.Generator().manual_seed(1)
    sample = torch.randn(1, 4, 8, 8, generator=g)
    put("unet.sample", sample, "[1,4,8,8] N(0,1) latent, generator seed 1")
    put("unet.timesteps", torch.tensor(TIMESTEPS), f"timesteps {TIMESTEPS} (as F32)")
    for t in TIMESTEPS:
        put(f"unet.t{t}.out", unet(sample, torch.tensor(t), encoder_hidden_states=hs[1:2]).sample,
            f"[1,4,8,8] UNet output (v) for unet.sample at timestep {t}, encoder_hidden_states = last_hidden_state[1:2]")

    # inpainting, as tools/reference_sampler.py's main() sets it up, with v-prediction
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 64), torch.linspace(-1, 1, 64), indexing="ij")
    image = torch.stack([torch.sin(3 * xx), torch.cos(2 * yy), xx * yy]).unsqueeze(0).clamp(-1, 1)
    fill_mask = torch.zeros(1, 1, 64, 64)
    fill_mask[..., 36:] = 1
    fill_mask[..., :12, :12] = 1
    x_T = torch.randn(1, 4, 8, 8, generator=g)
    zs = [torch.randn(1, 4, 8, 8, generator=g) for _ in range(rs.STEPS)]
    put("image", image, "[1,3,64,64] the inpainting image")
    put("fill_mask", fill_mask, "[1,1,64,64] 1 = pixels to fill")
    put("x_T", x_T, "[1,4,8,8] initial noise (same generator after unet.sample)")
    for i, z in enumerate(zs):
        put(f"z_{i}", z, f"[1,4,8,8] the noise of outer step {i}")
    error = rs.inpainting_constraint(vae, image, fill_mask)
    uncond = rs.text_states(tok, text, "")
    for name, p in CASES.items():
        cond = rs.text_states(tok, text, p["prompt"])
        put(f"{name}.x0", rs.sample(unet, error, cond, uncond, x_T, zs, p, prediction_type="v_prediction"),
            f"[1,4,8,8] final x0 of reference_sampler.sample(case {name}, prediction_type v_prediction)")
    return R, D


def verify(out: Path, unet, vae, text, ref: dict) -> None:
    originals = {"unet": unet.state_dict(), "vae": vae.state_dict(), "text_encoder": text.state_dict()}
    pipe = StableDiffusionPipeline.from_pretrained(str(out), safety_checker=None, local_files_only=True)
    for c in originals:
        tiny.assert_same(getattr(pipe, c).state_dict(), originals[c], f"folder {c}")
    assert pipe.scheduler.config.prediction_type == "v_prediction"
    assert pipe.tokenizer.pad_token == PAD_TOKEN and pipe.tokenizer.pad_token_id == 0
    print("  folder reloads bit for bit (StableDiffusionPipeline.from_pretrained); tokenizer pads with \"!\" (id 0)")
    ckpt = load_file(str(out / "tiny-sd2.safetensors"))
    conv = m15.diffusers_convert(ckpt, dict(unet.config), dict(vae.config), with_clip=False)
    text_conv = m21.diffusers_convert_open_clip(ckpt, text, TINY_TEXT_CONFIG["num_hidden_layers"])
    conv["text_encoder"] = {k.removeprefix("text_model."): v for k, v in text_conv.items()}
    for c in originals:
        tiny.assert_same(conv[c], originals[c], f"converter {c}")
    print("  diffusers' converters on the single file give every tensor bit for bit")
    again, _ = reference(pipe.unet, pipe.vae, pipe.text_encoder, pipe.tokenizer)
    tiny.assert_same(again, ref, "reference outputs (from the folder)")
    print("  reference outputs reproduced from the reloaded folder")


def main() -> None:
    torch.set_num_threads(1)
    out = OUT
    out.mkdir(parents=True, exist_ok=True)
    unet, vae, text = build_tiny()
    merges = tiny.read_clip_merges(tiny.BPE_FILE)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_sd2_tokenizer(tmp / "tok", merges)
        tok = CLIPTokenizer.from_pretrained(str(tmp / "tok"))
        pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tok, unet=unet,
                                       scheduler=DDIMScheduler.from_config(SCHEDULER_CONFIG), safety_checker=None,
                                       feature_extractor=None, requires_safety_checker=False)
        pipe.save_pretrained(str(tmp / "pipe"), safe_serialization=True)
        shutil.copy(tmp / "pipe/model_index.json", out / "model_index.json")
        shutil.copytree(tmp / "pipe/scheduler", out / "scheduler", dirs_exist_ok=True)
        for c in ("unet", "vae"):
            (out / c).mkdir(exist_ok=True)
            for f in ("config.json", "diffusion_pytorch_model.safetensors"):
                shutil.copy(tmp / "pipe" / c / f, out / c / f)
        (out / "text_encoder").mkdir(exist_ok=True)
        shutil.copy(tmp / "pipe/text_encoder/config.json", out / "text_encoder/config.json")
        save_file({m15.ldm_name_for_text(k): v.contiguous() for k, v in text.state_dict().items()},
                  str(out / "text_encoder/model.safetensors"), metadata={"format": "pt"})
        write_sd2_tokenizer(out / "tokenizer", merges)

    tiny.save_safetensors(single_file_state_dict(unet, vae, text), out / "tiny-sd2.safetensors",
                          {"format": "pt", "description": "tiny SD 2.x, original single-file layout (OpenCLIP text tower); same weights as tiny-sd2/"})
    ref, desc = reference(unet, vae, text, tok)
    meta = OrderedDict([("format", "pt"), ("generated_by", "tools/make_tiny_sd2.py"), ("steps", str(rs.STEPS)),
                        ("cases", json.dumps(CASES, sort_keys=True))])
    meta.update(desc)
    tiny.save_safetensors(ref, out / "reference.safetensors", meta)
    verify(out, unet, vae, text, ref)
    total = 0
    for p in sorted(out.rglob("*")):
        if p.is_file():
            total += p.stat().st_size
            print(f"  {p.stat().st_size:>9}  {p.relative_to(out)}")
    print(f"wrote {out}/ ({total} bytes)")


if __name__ == "__main__":
    main()
