"""Writes Tests/FCSModelsTests/Fixtures/tiny-lora/: two random LoRAs for the tiny SD fixture (tiny-sd, made by
tools/make_tiny_models.py) and what diffusers makes of them.

    tiny-lora/peft.safetensors       diffusers/PEFT format, as StableDiffusionPipeline.save_lora_weights writes it:
                                     unet.….lora_A.weight / lora_B.weight and text_encoder.…, alphas in the
                                     __metadata__ "lora_adapter_metadata" (peft LoraConfig JSON: UNet r 4, lora_alpha 6,
                                     alpha_pattern {"attn2.to_k": 2}; text encoder r 2, lora_alpha 3). Targets the
                                     attention projections, proj_in/out (1x1 convs), the feed-forward, the resnets'
                                     3x3 conv1 and time_emb_proj, and every text-encoder linear.
    tiny-lora/kohya.safetensors      kohya-ss format (F16, as LCM-LoRA / Hyper-SD ship): lora_unet_<module>.lora_down.weight,
                                     .lora_up.weight, .alpha and lora_te_<module>…, rank 4, alpha 2.5 (text encoder rank 3,
                                     alpha 5); LoCon-style convs (down [r, in, 3, 3], up [out, r, 1, 1]) on every resnet
                                     conv1/conv2/conv_shortcut and the down/upsampler convs, plus attention, proj_in/out,
                                     feed-forward and time_emb_proj.
    tiny-lora/reference.safetensors  inputs and diffusers' outputs (F32), described in its __metadata__

References: StableDiffusionPipeline.from_pretrained(tiny-sd), load_lora_weights(file), fuse_lora(lora_scale=s) (peft
s = 0.7, kohya s = 1.3), then the UNet at fixed inputs (tiny-sd's reference unet.b2.sample, t = 500,
encoder_hidden_states = tiny-sd's base text_encoder.last_hidden_state, so the UNet and text-encoder parities are
separate) and the text encoder on tiny-sd's text_encoder.input_ids; "both" loads the two as adapters and fuses them
with set_adapters(["peft", "kohya"], [0.7, 1.3]). The script checks that diffusers changed every targeted weight by
exactly scale · alpha / rank · up @ down (so no key was dropped silently). Re-running writes identical bytes.

    /work/venv-ref/bin/python tools/make_tiny_lora.py
"""
from __future__ import annotations

import json
import sys
import tempfile
from collections import OrderedDict
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from peft import LoraConfig  # noqa: E402
from peft.utils import get_peft_model_state_dict  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

from diffusers import StableDiffusionPipeline  # noqa: E402

from make_tiny_models import save_safetensors  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TINY_SD = ROOT / "Tests/FCSModelsTests/Fixtures/tiny-sd"
OUT = ROOT / "Tests/FCSModelsTests/Fixtures/tiny-lora"
PEFT_SCALE, KOHYA_SCALE, TIMESTEP = 0.7, 1.3, 500

UNET_PEFT = dict(r=4, lora_alpha=6, alpha_pattern={"attn2.to_k": 2},
                 target_modules=["to_q", "to_k", "to_v", "to_out.0", "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2",
                                 "conv1", "time_emb_proj"])
TEXT_PEFT = dict(r=2, lora_alpha=3, target_modules=["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"])
KOHYA_UNET = dict(rank=4, alpha=2.5, suffixes=("to_q", "to_k", "to_v", "to_out.0", "proj_in", "proj_out", "ff.net.0.proj",
                                              "ff.net.2", "conv1", "conv2", "conv_shortcut", "time_emb_proj",
                                              "downsamplers.0.conv", "upsamplers.0.conv"))
KOHYA_TEXT = dict(rank=3, alpha=5.0, suffixes=("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"))


def pipeline() -> StableDiffusionPipeline:
    return StableDiffusionPipeline.from_pretrained(TINY_SD, safety_checker=None, requires_safety_checker=False)


def redraw_lora(model: torch.nn.Module, g: torch.Generator) -> None:
    """lora_A ~ N(0, 1/fan_in), lora_B ~ N(0, 1/(4 r)): an update of the size of the weight, so it shows in outputs."""
    for name, p in sorted(model.named_parameters()):
        if "lora_A" in name:
            p.data = torch.randn(p.shape, generator=g) / p[0].numel() ** 0.5
        elif "lora_B" in name:
            p.data = torch.randn(p.shape, generator=g) / (4 * p.shape[1]) ** 0.5


def write_peft(path: Path) -> None:
    pipe, g = pipeline(), torch.Generator().manual_seed(10)
    pipe.unet.add_adapter(LoraConfig(init_lora_weights=False, **UNET_PEFT))
    pipe.text_encoder.add_adapter(LoraConfig(init_lora_weights=False, **TEXT_PEFT))
    redraw_lora(pipe.unet, g)
    redraw_lora(pipe.text_encoder, g)
    with tempfile.TemporaryDirectory() as tmp:
        StableDiffusionPipeline.save_lora_weights(
            tmp, unet_lora_layers=get_peft_model_state_dict(pipe.unet),
            text_encoder_lora_layers=get_peft_model_state_dict(pipe.text_encoder),
            unet_lora_adapter_metadata=pipe.unet.peft_config["default"].to_dict(),
            text_encoder_lora_adapter_metadata=pipe.text_encoder.peft_config["default"].to_dict())
        file = Path(tmp) / "pytorch_lora_weights.safetensors"
        with safe_open(str(file), "pt") as f:
            metadata = f.metadata()
        # the deterministic writer: safetensors' own orders metadata differently from run to run
        # (and target_modules comes from a set); the local path peft records is dropped, so the file is the same
        # on every machine
        config = {k: (None if k.endswith(".base_model_name_or_path") else sorted(v) if k.endswith(".target_modules") else v)
                  for k, v in json.loads(metadata["lora_adapter_metadata"]).items()}
        metadata["lora_adapter_metadata"] = json.dumps(config, indent=2, sort_keys=True)
        save_safetensors(load_file(str(file)), path, metadata)


def kohya_factors(model: torch.nn.Module, prefix: str, spec: dict, g: torch.Generator) -> OrderedDict:
    """sd-scripts' names (prefix + diffusers module path with . → _) and shapes: Linear down [r, in], up [out, r];
    Conv2d down [r, in, kh, kw], up [out, r, 1, 1] (LoCon)."""
    sd, r = OrderedDict(), spec["rank"]
    for name, module in model.named_modules():
        if not name.endswith(spec["suffixes"]) or not isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)):
            continue
        w = module.weight
        key = prefix + name.replace(".", "_")
        down_shape = (r, w.shape[1]) if w.ndim == 2 else (r, w.shape[1], w.shape[2], w.shape[3])
        up_shape = (w.shape[0], r) if w.ndim == 2 else (w.shape[0], r, 1, 1)
        sd[key + ".lora_down.weight"] = (torch.randn(down_shape, generator=g) / w[0].numel() ** 0.5).half()
        sd[key + ".lora_up.weight"] = (torch.randn(up_shape, generator=g) / (4 * r) ** 0.5).half()
        sd[key + ".alpha"] = torch.tensor(spec["alpha"]).half()
    return sd


def write_kohya(path: Path) -> None:
    pipe, g = pipeline(), torch.Generator().manual_seed(20)
    sd = kohya_factors(pipe.unet, "lora_unet_", KOHYA_UNET, g)
    sd.update(kohya_factors(pipe.text_encoder, "lora_te_", KOHYA_TEXT, g))
    save_safetensors(sd, path, {"ss_network_module": "networks.lora", "ss_network_dim": "4", "ss_network_alpha": "2.5"})


def expected_deltas(path: Path, scale: float) -> dict:
    """{(component, module): scale · alpha / rank · up @ down} computed here, independently of diffusers."""
    sd, out = load_file(str(path)), {}
    with safe_open(str(path), "pt") as f:
        meta = json.loads((f.metadata() or {}).get("lora_adapter_metadata", "{}"))
    for key, down in sd.items():
        if key.endswith(".lora_down.weight"):  # kohya
            base = key[: -len(".lora_down.weight")]
            component = "unet" if base.startswith("lora_unet_") else "text_encoder"
            module = base.split("_", 2)[2]
            up, alpha = sd[base + ".lora_up.weight"], sd[base + ".alpha"].item()
        elif key.endswith(".lora_A.weight"):  # peft
            base = key[: -len(".lora_A.weight")]
            component, module = base.split(".", 1)
            up = sd[base + ".lora_B.weight"]
            patterns = meta[component + ".alpha_pattern"]
            alpha = next((v for p, v in patterns.items() if module.endswith("." + p)), meta[component + ".lora_alpha"])
        else:
            continue
        down, up, r = down.float(), up.float(), down.shape[0]
        out[(component, module)] = scale * alpha / r * (up.flatten(1) @ down.flatten(1))
    return out


def check_fused(base: StableDiffusionPipeline, fused: StableDiffusionPipeline, expected: dict) -> None:
    """Every weight diffusers changed is one the files target, changed by exactly the expected update."""
    flat = {}
    for component in ("unet", "text_encoder"):
        before = dict(getattr(base, component).named_parameters())
        for name, p in getattr(fused, component).named_parameters():
            if not name.endswith(".weight") or "lora_" in name:
                continue
            module = name[: -len(".weight")].replace("base_layer.", "").replace(".base_layer", "")
            key = (component, module)
            kohya_key = (component, module.replace(".", "_"))
            delta = expected.get(key, expected.get(kohya_key, None))
            b = before[name.replace(".base_layer", "")]
            if delta is None:
                assert torch.equal(p, b), f"{component}.{name} changed but no LoRA targets it"
                continue
            flat[key] = True
            err = (p.detach().flatten(1) - b.flatten(1) - delta).abs().max().item()
            assert err < 1e-5 * max(1.0, delta.abs().max().item()), f"{component}.{module}: fused delta off by {err}"
    assert len(flat) == len(expected), f"diffusers fused {len(flat)} modules, the files have {len(expected)}"


@torch.no_grad()
def outputs(pipe: StableDiffusionPipeline, ref: dict) -> tuple[torch.Tensor, torch.Tensor]:
    ids = ref["text_encoder.input_ids"].long()
    text = pipe.text_encoder(ids).last_hidden_state
    eps = pipe.unet(ref["unet.b2.sample"], torch.tensor(TIMESTEP), encoder_hidden_states=ref["text_encoder.last_hidden_state"]).sample
    return eps, text


def main() -> None:
    torch.manual_seed(0)
    OUT.mkdir(parents=True, exist_ok=True)
    peft_file, kohya_file = OUT / "peft.safetensors", OUT / "kohya.safetensors"
    write_peft(peft_file)
    write_kohya(kohya_file)
    ref_in = load_file(str(TINY_SD / "reference.safetensors"))
    base = pipeline()

    R, D = OrderedDict(), OrderedDict()

    def put(name, t, desc):
        R[name] = t.detach().to(torch.float32).clone().contiguous()
        D[name] = desc

    for name, file, scale in (("peft", peft_file, PEFT_SCALE), ("kohya", kohya_file, KOHYA_SCALE)):
        pipe = pipeline()
        pipe.load_lora_weights(str(file), adapter_name=name)
        pipe.fuse_lora(lora_scale=scale)
        check_fused(base, pipe, expected_deltas(file, scale))
        eps, text = outputs(pipe, ref_in)
        put(f"{name}.unet.out", eps, f"[2,4,8,8] UNet epsilon after load_lora_weights({file.name}) + fuse_lora(lora_scale={scale}), "
            f"for tiny-sd's unet.b2.sample at t = {TIMESTEP}, encoder_hidden_states = tiny-sd's text_encoder.last_hidden_state")
        put(f"{name}.text_encoder.last_hidden_state", text, f"[2,77,32] the fused text encoder on tiny-sd's text_encoder.input_ids")
        print(f"  {name}: {len(expected_deltas(file, scale))} modules fused, |eps - base| max "
              f"{(eps - outputs(base, ref_in)[0]).abs().max():.3f}")

    pipe = pipeline()
    pipe.load_lora_weights(str(peft_file), adapter_name="peft")
    pipe.load_lora_weights(str(kohya_file), adapter_name="kohya")
    pipe.set_adapters(["peft", "kohya"], adapter_weights=[PEFT_SCALE, KOHYA_SCALE])
    pipe.fuse_lora(adapter_names=["peft", "kohya"])
    both = expected_deltas(peft_file, PEFT_SCALE)
    for k, v in expected_deltas(kohya_file, KOHYA_SCALE).items():
        key = next((e for e in both if e[0] == k[0] and e[1].replace(".", "_") == k[1]), k)
        both[key] = both.get(key, 0) + v
    check_fused(base, pipe, both)
    eps, text = outputs(pipe, ref_in)
    put("both.unet.out", eps, f"[2,4,8,8] like peft.unet.out with both files loaded as adapters, set_adapters([peft, kohya], "
        f"[{PEFT_SCALE}, {KOHYA_SCALE}]) and fuse_lora()")
    put("both.text_encoder.last_hidden_state", text, "[2,77,32] the text encoder fused like both.unet.out")

    meta = OrderedDict([("format", "pt"), ("generated_by", "tools/make_tiny_lora.py"),
                        ("versions", f"torch {torch.__version__}, diffusers {__import__('diffusers').__version__}, "
                                     f"peft {__import__('peft').__version__}"),
                        ("tensors", json.dumps(D))])
    save_safetensors(R, OUT / "reference.safetensors", meta)
    for f in sorted(OUT.iterdir()):
        print(f"  {f.relative_to(ROOT)}: {f.stat().st_size} bytes")


if __name__ == "__main__":
    main()
