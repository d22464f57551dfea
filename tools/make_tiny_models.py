"""Writes Tests/FCSModelsTests/Fixtures/tiny-sd/: a tiny random-weight Stable Diffusion 1.x model, float32,
with exactly SD 1.5's block structure, only narrow (UNet and VAE have every tensor name of SD 1.5's: 686
and 248 tensors, 4 levels, 2 resnets per level, 8x VAE; the text encoder has 2 layers: 36 tensors), plus
PyTorch reference outputs.

    tiny-sd/model_index.json                      as StableDiffusionPipeline.save_pretrained writes it
    tiny-sd/scheduler/scheduler_config.json       SD 1.5's PNDMScheduler settings
    tiny-sd/unet/config.json, diffusion_pytorch_model.safetensors (F32), diffusion_pytorch_model.fp16.safetensors
    tiny-sd/vae/config.json,  diffusion_pytorch_model.safetensors (F32), diffusion_pytorch_model.fp16.safetensors
    tiny-sd/text_encoder/config.json, model.safetensors (F32, names with `text_model.` as in published SD files)
    tiny-sd/tokenizer/vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json
                                                   CLIP's byte-level BPE cut to its first 486 merges (1000 tokens)
    tiny-sd/tiny-sd.safetensors                   the same weights as one original CompVis/LDM single-file checkpoint
    tiny-sd/reference.safetensors                 inputs and outputs (F32), described in its __metadata__

Run with the reference environment:

    /work/venv-ref/bin/python tools/make_tiny_models.py

The BPE merges come from Sources/_FCSResources/include/bpe_simple_vocab_16e6.txt.gz (OpenAI CLIP's
file, as shipped by PyPI open_clip_torch 3.3.0, MIT; committed by tools/make_tokenizer_fixtures.py).
The text encoder keeps the conventions CLIPTextModelTests relies on: vocab_size 1000 (<|startoftext|> 998,
<|endoftext|> 999 = bos/eos/pad ids), reference tensors text_encoder.input_ids / text_encoder.last_hidden_state.

Weights: torch.manual_seed(0), models built with diffusers/transformers defaults, then every parameter redrawn
in module order (conv/linear weights N(0, 1/fan_in), biases U(-0.1, 0.1), norm scales U(0.75, 1.25), norm
shifts U(-0.1, 0.1), embeddings N(0, 1)), so that no bias is zero, no norm is the identity and attention
is far from uniform: a swapped or dropped tensor changes the outputs.

The single-file checkpoint uses the name map of tools/make_sd15_manifest.py (the inverse of diffusers'
conversion) and also holds the non-network keys of original checkpoints (DDPM schedule buffers, the I64
`position_ids`, model_ema scalars). The script checks that diffusers' `from_single_file` gives back every
tensor bit for bit, that the folder reloads bit for bit (fp16 files = F32 weights rounded to half), and
that the stored reference outputs are reproduced by the reloaded models. Re-running writes identical bytes.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import sys
import tempfile
from collections import OrderedDict
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel  # noqa: E402
from transformers import CLIPTextModel, CLIPTokenizer  # noqa: E402

import make_sd15_manifest as m  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/FCSModelsTests/Fixtures/tiny-sd"
NUM_MERGES = 486  # 256 bytes + 256 bytes</w> + 486 merges + 2 specials = 1000 tokens
BPE_FILE = ROOT / "Sources/_FCSResources/include/bpe_simple_vocab_16e6.txt.gz"
BPE_SHA256 = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"

# --- tiny configs: SD 1.5's structure, narrow ------------------------------------------------------------
# Widths keep SD's pattern (channels grow at levels 1 and 2, level 3 = level 2), so the UNet and the VAE
# have exactly the tensor names of SD 1.5's (checked below); they are as narrow as the ~3 MB budget for the
# folder asks (the weights are stored 2.5 times: F32, fp16 variant, single file). norm_num_groups 4:
# 1/2/3 (UNet) and 2/3/4 (VAE) channels per group. attention_head_dim 2 means 2 heads (diffusers'
# SD 1.x quirk: it is the head count, not the head size): head sizes 2, 4, 6; reading it as a head size
# would give 2, 4, 6 heads instead.
TINY_UNET_CONFIG = OrderedDict(m.SD15_UNET_CONFIG)
TINY_UNET_CONFIG.update(
    _diffusers_version=None, attention_head_dim=2, block_out_channels=[4, 8, 12, 12], cross_attention_dim=32,
    norm_num_groups=4, sample_size=8)
TINY_VAE_CONFIG = OrderedDict(m.SD15_VAE_CONFIG)
TINY_VAE_CONFIG.update(_diffusers_version=None, block_out_channels=[8, 12, 16, 16], layers_per_block=2,
                       norm_num_groups=4, sample_size=64)
TINY_TEXT_CONFIG = OrderedDict(m.SD15_TEXT_CONFIG)
TINY_TEXT_CONFIG.update(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                        projection_dim=32, vocab_size=256 * 2 + NUM_MERGES + 2,
                        bos_token_id=998, eos_token_id=999, pad_token_id=999)  # this vocabulary's real ids
for c in (TINY_UNET_CONFIG, TINY_VAE_CONFIG):
    del c["_diffusers_version"]
for k in ("_name_or_path", "torch_dtype", "transformers_version"):
    del TINY_TEXT_CONFIG[k]

SCHEDULER_CONFIG = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
                        set_alpha_to_one=False, skip_prk_steps=True, steps_offset=1)

PROMPTS = ["", "a photograph of an astronaut riding a horse"]  # [unconditional, conditional], as CFG batches them
TOKENIZER_CASES = [
    "A Cozy cabin, in the SNOWY mountains!!",
    "digital art of 3 cats' whiskers, 1024x768 (masterpiece)",
    "caf\u00e9 na\u00efve \u2014 \u00fcber \U0001F600 emoji",
    " ".join(["a very long prompt that will be truncated"] * 12),
]
TIMESTEPS = [999, 500, 0]


# --- tokenizer -------------------------------------------------------------------------------------------

def bytes_to_unicode() -> dict[int, str]:
    """CLIP's (GPT-2's) reversible byte -> printable unicode character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + \
        list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def read_clip_merges(path: Path, count: int = NUM_MERGES) -> list[str]:
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    assert digest == BPE_SHA256, f"{path}: sha256 {digest}, expected CLIP's bpe_simple_vocab_16e6.txt.gz"
    lines = gzip.decompress(raw).decode("utf-8").split("\n")
    return lines[1:1 + count]  # line 0 is the '#version' header


def write_tokenizer(folder: Path, merges: list[str], vocab_size: int = TINY_TEXT_CONFIG["vocab_size"]) -> None:
    """The four files of SD 1.5's tokenizer/ folder, with a vocabulary cut to `merges`. Token order is
    CLIP's: 256 byte characters, the same with '</w>', one token per merge, <|startoftext|>, <|endoftext|>."""
    base = list(bytes_to_unicode().values())
    vocab = base + [b + "</w>" for b in base] + ["".join(mg.split(" ")) for mg in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    assert len(vocab) == len(set(vocab)) == vocab_size
    known = set()
    for i, mg in enumerate(merges):  # each merge joins tokens that exist by then
        a, b = mg.split(" ")
        assert all(t in known or t in base or t in {x + "</w>" for x in base} for t in (a, b)), mg
        known.add(a + b)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False), "utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", "utf-8")

    def added(content):
        return OrderedDict([("__type", "AddedToken"), ("content", content), ("lstrip", False), ("normalized", True),
                            ("rstrip", False), ("single_word", False)])
    special = OrderedDict([("bos_token", added("<|startoftext|>")), ("eos_token", added("<|endoftext|>")),
                           ("pad_token", "<|endoftext|>"), ("unk_token", added("<|endoftext|>"))])
    config = OrderedDict([("add_prefix_space", False), ("bos_token", added("<|startoftext|>")), ("do_lower_case", True),
                          ("eos_token", added("<|endoftext|>")), ("errors", "replace"), ("model_max_length", 77),
                          ("pad_token", "<|endoftext|>"), ("tokenizer_class", "CLIPTokenizer"),
                          ("unk_token", added("<|endoftext|>"))])
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n", "utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n", "utf-8")


def tokenize(tok: CLIPTokenizer, texts: list[str]) -> torch.Tensor:
    # exactly what StableDiffusionPipeline.encode_prompt does
    return tok(texts, padding="max_length", max_length=tok.model_max_length, truncation=True,
               return_tensors="pt").input_ids


# --- weights ---------------------------------------------------------------------------------------------

@torch.no_grad()
def redraw(model: nn.Module) -> None:
    seen = set()
    for _, mod in model.named_modules():
        if isinstance(mod, (nn.Linear, nn.Conv2d)):
            mod.weight.normal_(0.0, mod.weight[0].numel() ** -0.5)
            seen.add(id(mod.weight))
            if mod.bias is not None:
                mod.bias.uniform_(-0.1, 0.1)
                seen.add(id(mod.bias))
        elif isinstance(mod, (nn.GroupNorm, nn.LayerNorm)):
            mod.weight.uniform_(0.75, 1.25)
            mod.bias.uniform_(-0.1, 0.1)
            seen.update((id(mod.weight), id(mod.bias)))
        elif isinstance(mod, nn.Embedding):
            mod.weight.normal_(0.0, 1.0)
            seen.add(id(mod.weight))
    left = [n for n, p in model.named_parameters() if id(p) not in seen]
    assert not left, f"parameters not redrawn: {left}"


def build_tiny():
    torch.manual_seed(0)
    unet, vae, text = m.build_models(TINY_UNET_CONFIG, TINY_VAE_CONFIG, TINY_TEXT_CONFIG, device="cpu")
    for model in (unet, vae, text):
        redraw(model)
        model.eval()
    return unet, vae, text


# --- single file -----------------------------------------------------------------------------------------

def ddpm_schedule_buffers() -> "OrderedDict[str, torch.Tensor]":
    """The schedule buffers an LDM checkpoint carries (SD 1.x: linear in sqrt(beta), 0.00085 .. 0.012)."""
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    alphas = 1.0 - betas
    ac = torch.cumprod(alphas, 0)
    acp = torch.cat([torch.ones(1, dtype=torch.float64), ac[:-1]])
    pv = betas * (1.0 - acp) / (1.0 - ac)
    b = OrderedDict([
        ("betas", betas), ("alphas_cumprod", ac), ("alphas_cumprod_prev", acp),
        ("sqrt_alphas_cumprod", ac.sqrt()), ("sqrt_one_minus_alphas_cumprod", (1.0 - ac).sqrt()),
        ("log_one_minus_alphas_cumprod", (1.0 - ac).log()), ("sqrt_recip_alphas_cumprod", (1.0 / ac).sqrt()),
        ("sqrt_recipm1_alphas_cumprod", (1.0 / ac - 1.0).sqrt()), ("posterior_variance", pv),
        ("posterior_log_variance_clipped", pv.clamp(min=1e-20).log()),
        ("posterior_mean_coef1", betas * acp.sqrt() / (1.0 - ac)),
        ("posterior_mean_coef2", (1.0 - acp) * alphas.sqrt() / (1.0 - ac)),
    ])
    return OrderedDict((k, v.float()) for k, v in b.items())


def single_file_state_dict(unet, vae, text) -> dict:
    unet_sd, vae_sd, text_sd = unet.state_dict(), vae.state_dict(), text.state_dict()
    ldm_shapes, to_diff = m.single_file_layout(unet_sd, vae_sd, text_sd, dict(unet.config), dict(vae.config))
    by_comp = {"unet": unet_sd, "vae": vae_sd,
               "text_encoder": {m.ldm_name_for_text(k): v for k, v in text_sd.items()}}
    out = OrderedDict()
    for ldm, (comp, dname) in to_diff.items():
        out[ldm] = by_comp[comp][dname].detach().clone().reshape(ldm_shapes[ldm]).contiguous()
    # non-network keys of original checkpoints, so a loader meets them here too
    out.update(ddpm_schedule_buffers())
    out["cond_stage_model.transformer.text_model.embeddings.position_ids"] = torch.arange(77, dtype=torch.int64)[None]
    out["model_ema.decay"] = torch.tensor(0.9999, dtype=torch.float32)
    out["model_ema.num_updates"] = torch.tensor(0, dtype=torch.int32)
    for k, spec in m.SINGLE_FILE_NON_NETWORK_KEYS.items():
        assert k in out and list(out[k].shape) == spec["shape"], k
    return out, to_diff


# --- reference outputs -------------------------------------------------------------------------------------

@torch.no_grad()
def reference(unet, vae, text, tok) -> tuple["OrderedDict[str, torch.Tensor]", dict]:
    R, D = OrderedDict(), OrderedDict()

    def put(name, t, desc):
        R[name] = t.detach().to(torch.float32).clone().contiguous()
        D[name] = desc

    ids = tokenize(tok, PROMPTS)
    hs = text(ids).last_hidden_state
    put("text_encoder.input_ids", ids, f"[2,77] token ids (as F32) of prompts {json.dumps(PROMPTS)}: tokenizer(padding='max_length', max_length=77, truncation=True)")
    put("text_encoder.last_hidden_state", hs, "[2,77,32] CLIPTextModel(text_encoder.input_ids).last_hidden_state (after final_layer_norm), no attention mask")
    for i, s in enumerate(TOKENIZER_CASES):
        put(f"tokenizer.case{i}.input_ids", tokenize(tok, [s])[0],
            f"[77] ids (as F32) of {json.dumps(s)} padded/truncated like text_encoder.input_ids")

    g = torch.Generator().manual_seed(1)
    sample = torch.randn(1, 4, 8, 8, generator=g)
    put("unet.sample", sample, "[1,4,8,8] N(0,1) latent, generator seed 1")
    put("unet.timesteps", torch.tensor(TIMESTEPS), f"timesteps {TIMESTEPS} (integers, as F32) used for unet.t<T>.out")
    for t in TIMESTEPS:
        put(f"unet.t{t}.out", unet(sample, torch.tensor(t), encoder_hidden_states=hs[1:2]).sample,
            f"[1,4,8,8] UNet epsilon for unet.sample at timestep {t} (scalar int64 timestep), "
            "encoder_hidden_states = text_encoder.last_hidden_state[1:2] (the non-empty prompt)")
    sample2 = torch.randn(2, 4, 8, 8, generator=g)
    put("unet.b2.sample", sample2, "[2,4,8,8] N(0,1) latents, same generator after unet.sample")
    for t in TIMESTEPS:
        put(f"unet.b2.t{t}.out", unet(sample2, torch.tensor(t), encoder_hidden_states=hs).sample,
            f"[2,4,8,8] UNet epsilon for unet.b2.sample, scalar timestep {t} broadcast over the batch, "
            "encoder_hidden_states = text_encoder.last_hidden_state (row 0: empty prompt, row 1: prompt; a CFG batch)")
    tmix = torch.tensor([999, 0])
    put("unet.b2.tmix.timesteps", tmix, "[2] per-sample timesteps [999, 0] (as F32)")
    put("unet.b2.tmix.out", unet(sample2, tmix, encoder_hidden_states=hs).sample,
        "[2,4,8,8] UNet epsilon for unet.b2.sample with per-sample timesteps unet.b2.tmix.timesteps, "
        "encoder_hidden_states = text_encoder.last_hidden_state")

    image = torch.rand(1, 3, 64, 64, generator=g) * 2 - 1
    dist = vae.encode(image).latent_dist
    put("vae.enc.image", image, "[1,3,64,64] U(-1,1) image, same generator after unet.b2.sample")
    put("vae.enc.mean", dist.mean, "[1,4,8,8] vae.encode(image).latent_dist.mean (no scaling_factor)")
    put("vae.enc.logvar", dist.logvar, "[1,4,8,8] vae.encode(image).latent_dist.logvar (clamped to [-30, 20] by diffusers)")
    latent = torch.randn(1, 4, 8, 8, generator=g)
    put("vae.dec.latent", latent, "[1,4,8,8] N(0,1) latent, same generator after vae.enc.image")
    put("vae.dec.out", vae.decode(latent).sample, "[1,3,64,64] vae.decode(vae.dec.latent).sample (latent used as is, no 1/scaling_factor)")
    return R, D


# --- deterministic safetensors writer --------------------------------------------------------------------
# safetensors' own writer keeps __metadata__ in a Rust HashMap, so with more than one entry the header (and
# the file) changes from run to run. This writes the same format with a fixed header: metadata keys
# sorted, tensors ordered like the reference writer (larger dtypes first, then by name, so every tensor is
# aligned to its element size), header padded with spaces to a multiple of 8.

_DTYPES = {torch.float32: ("F32", 4), torch.float16: ("F16", 2), torch.int64: ("I64", 8), torch.int32: ("I32", 4)}


def save_safetensors(tensors: dict, path: Path, metadata: dict) -> None:
    order = sorted(tensors, key=lambda k: (-_DTYPES[tensors[k].dtype][1], k))
    header, blobs, offset = {"__metadata__": dict(sorted(metadata.items()))}, [], 0
    for k in order:
        t = tensors[k].detach().contiguous().cpu()
        raw = t.numpy().tobytes()
        header[k] = {"dtype": _DTYPES[t.dtype][0], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)
    back = load_file(str(path))  # the reference reader must read back exactly what we meant
    assert set(back) == set(order)
    for k in order:
        assert back[k].dtype == tensors[k].dtype and torch.equal(back[k], tensors[k].cpu()), k


# --- checks ------------------------------------------------------------------------------------------------

def assert_same(a: dict, b: dict, what: str, cast=None) -> None:
    assert set(a) == set(b), f"{what}: names differ: {sorted(set(a) ^ set(b))[:6]}"
    for k in a:
        x, y = a[k], b[k] if cast is None else b[k].to(cast)
        assert x.dtype == y.dtype and x.shape == y.shape and torch.equal(x, y), f"{what}: {k} differs"


def verify(out: Path, unet, vae, text, ref: dict) -> None:
    originals = {"unet": unet.state_dict(), "vae": vae.state_dict(), "text_encoder": text.state_dict()}
    sd15_unet, sd15_vae, _ = m.build_models(m.SD15_UNET_CONFIG, m.SD15_VAE_CONFIG, m.SD15_TEXT_CONFIG)
    assert list(sd15_unet.state_dict()) == list(originals["unet"]), "tiny UNet names differ from SD 1.5's"
    assert list(sd15_vae.state_dict()) == list(originals["vae"]), "tiny VAE names differ from SD 1.5's"
    print("  UNet and VAE tensor names are exactly SD 1.5's")
    kw = dict(local_files_only=True)
    pipe = StableDiffusionPipeline.from_pretrained(str(out), safety_checker=None, **kw)
    for c in originals:
        assert_same(getattr(pipe, c).state_dict(), originals[c], f"folder {c}")
    print("  folder reloads bit for bit (StableDiffusionPipeline.from_pretrained)")
    for c, cls in (("unet", UNet2DConditionModel), ("vae", AutoencoderKL)):
        half = cls.from_pretrained(str(out), subfolder=c, variant="fp16", torch_dtype=torch.float16, **kw)
        assert_same(half.state_dict(), originals[c], f"fp16 {c}", cast=torch.float16)
    print("  fp16 variants = F32 weights rounded to half")
    with safe_open(str(out / "text_encoder/model.safetensors"), "pt") as f:
        assert all(k.startswith("text_model.") for k in f.keys())

    sf = out / "tiny-sd.safetensors"
    single = StableDiffusionPipeline.from_single_file(str(sf), config=str(out), safety_checker=None, **kw)
    for c in originals:
        assert_same(getattr(single, c).state_dict(), originals[c], f"single file {c}")
    print("  StableDiffusionPipeline.from_single_file(tiny-sd.safetensors) gives every tensor bit for bit")
    conv = m.diffusers_convert(load_file(str(sf)), dict(unet.config), dict(vae.config))
    conv["text_encoder"] = {k.removeprefix("text_model."): v for k, v in conv["text_encoder"].items()
                            if k != "text_model.embeddings.position_ids"}
    for c in originals:
        assert_same(conv[c], originals[c], f"converter {c}")
    print("  diffusers' converters on the raw file agree too")

    tok = CLIPTokenizer.from_pretrained(str(out / "tokenizer"))
    again, _ = reference(single.unet, single.vae, single.text_encoder, tok)
    assert_same(again, ref, "reference outputs (from the single-file models)")
    again, _ = reference(pipe.unet, pipe.vae, pipe.text_encoder, pipe.tokenizer)
    assert_same(again, ref, "reference outputs (from the folder)")
    print("  reference outputs reproduced from the reloaded models")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bpe", type=Path, default=BPE_FILE, help="CLIP's bpe_simple_vocab_16e6.txt.gz")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)  # same summation order on every run
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)  # files are overwritten one by one; nothing else is removed

    unet, vae, text = build_tiny()
    merges = read_clip_merges(args.bpe)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_tokenizer(tmp / "tok", merges)
        tok = CLIPTokenizer.from_pretrained(str(tmp / "tok"))
        assert len(tok) == TINY_TEXT_CONFIG["vocab_size"], len(tok)
        pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tok, unet=unet,
                                       scheduler=PNDMScheduler(**SCHEDULER_CONFIG), safety_checker=None,
                                       feature_extractor=None, requires_safety_checker=False)
        pipe.save_pretrained(str(tmp / "pipe"), safe_serialization=True)
        shutil.copy(tmp / "pipe/model_index.json", out / "model_index.json")
        shutil.copytree(tmp / "pipe/scheduler", out / "scheduler", dirs_exist_ok=True)
        for c in ("unet", "vae"):
            (out / c).mkdir(exist_ok=True)
            for f in ("config.json", "diffusion_pytorch_model.safetensors"):
                shutil.copy(tmp / "pipe" / c / f, out / c / f)
            save_file({k: v.half().contiguous() for k, v in getattr(pipe, c).state_dict().items()},
                      str(out / c / "diffusion_pytorch_model.fp16.safetensors"), metadata={"format": "pt"})
        (out / "text_encoder").mkdir(exist_ok=True)
        shutil.copy(tmp / "pipe/text_encoder/config.json", out / "text_encoder/config.json")
        # published SD text encoders name their tensors text_model.*; transformers >= 5.6 would drop that level
        save_file({m.ldm_name_for_text(k): v.contiguous() for k, v in text.state_dict().items()},
                  str(out / "text_encoder/model.safetensors"), metadata={"format": "pt"})
        write_tokenizer(out / "tokenizer", merges)

    single, _ = single_file_state_dict(unet, vae, text)
    save_safetensors(single, out / "tiny-sd.safetensors",
                     {"format": "pt", "description": "tiny SD 1.x, CompVis/LDM single-file layout; same weights as the tiny-sd/ folder"})

    ref, desc = reference(unet, vae, text, tok)
    meta = OrderedDict([("format", "pt"), ("generated_by", "tools/make_tiny_models.py"),
                        ("prompts", json.dumps(PROMPTS)), ("tokenizer_cases", json.dumps(TOKENIZER_CASES, ensure_ascii=False))])
    meta.update(desc)
    save_safetensors(ref, out / "reference.safetensors", meta)

    verify(out, unet, vae, text, ref)

    counts = {c: len(sd) for c, sd in (("unet", unet.state_dict()), ("vae", vae.state_dict()), ("text_encoder", text.state_dict()))}
    params = {c: sum(v.numel() for v in getattr(pipe, c).state_dict().values()) for c in counts}
    print(f"  tensors {counts}, single file {len(single)}, parameters {params}")
    total = 0
    for p in sorted(out.rglob("*")):
        if p.is_file():
            total += p.stat().st_size
            print(f"  {p.stat().st_size:>9}  {p.relative_to(out)}")
    print(f"wrote {out}/ ({total} bytes)")


if __name__ == "__main__":
    main()
