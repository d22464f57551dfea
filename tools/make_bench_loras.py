"""Writes random LoRA files of SD 1.5's real shapes for `fcs bench load` (never for tests): rank 64 on every
module LCM-LoRA trains (latent-consistency/lcm-lora-sdv1-5: the attention projections, proj_in/out, the
feed-forward, the resnets' conv1/conv2/conv_shortcut/time_emb_proj and the down/upsampler convs: 278 UNet modules,
LoCon-style down [64, in, 3, 3] for 3x3 convs), F16 as LCM-LoRA ships (~134 MB each), plus the text encoder's
q/k/v/out_proj and fc1/fc2 in the second file; and a random SD 1.5 single-file checkpoint (the original LDM
names, F16, 2 GB) to load them onto, so that the load is a real file read and not random-number generation.

    python3 tools/make_bench_loras.py /tmp/fcs-bench-lora      -> kohya.safetensors, peft.safetensors, sd15.safetensors

kohya.safetensors uses kohya's lora_unet_… names with .alpha (alpha 32); peft.safetensors uses diffusers' PEFT
names unet.….lora_A/B.weight with no alpha (scale 1). Shapes come from the committed SD 1.5 manifest
(Tests/FCSModelsTests/Fixtures/manifest/sd15_manifest.json), so only NumPy is needed.
"""
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "Tests/FCSModelsTests/Fixtures/manifest/sd15_manifest.json"
RANK, ALPHA = 64, 32.0
UNET_TARGETS = ("to_q", "to_k", "to_v", "to_out.0", "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2", "conv1", "conv2",
                "conv_shortcut", "time_emb_proj", "downsamplers.0.conv", "upsamplers.0.conv")
TEXT_TARGETS = ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2")


def modules(shapes: dict, targets: tuple) -> list:
    return [(name[: -len(".weight")], shape) for name, shape in sorted(shapes.items())
            if name.endswith(".weight") and name[: -len(".weight")].endswith(targets) and len(shape) in (2, 4)]


def factors(shape: list, rng: np.random.Generator) -> tuple:
    down = (RANK, *shape[1:])
    up = (shape[0], RANK) if len(shape) == 2 else (shape[0], RANK, 1, 1)
    fan_in = int(np.prod(shape[1:]))
    return ((rng.standard_normal(down, np.float32) / np.sqrt(fan_in)).astype(np.float16),
            (rng.standard_normal(up, np.float32) * 0.01).astype(np.float16))


def write(tensors: dict, path: Path) -> None:
    """The safetensors format: 8-byte header length, JSON header, data (F32 scalars first, then F16)."""
    write_stream({k: (a.dtype, a.shape) for k, a in tensors.items()}, lambda k: tensors[k], path)


def write_stream(specs: dict, make, path: Path) -> None:
    """Writes tensors {name: (dtype, shape)}, each made by make(name) only when it is written."""
    order = sorted(specs, key=lambda k: (-np.dtype(specs[k][0]).itemsize, k))
    header, offset = {}, 0
    for k in order:
        dtype, shape = specs[k]
        size = int(np.prod(shape)) * np.dtype(dtype).itemsize
        header[k] = {"dtype": "F16" if dtype == np.float16 else "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(len(raw).to_bytes(8, "little") + raw)
        for k in order:
            f.write(np.ascontiguousarray(make(k), dtype=specs[k][0]).tobytes())


def write_checkpoint(path: Path, rng: np.random.Generator) -> None:
    """SD 1.5's 1,130 network tensors under their single-file names, N(0, 1/fan_in) as F16."""
    shapes = json.loads(MANIFEST.read_text())["single_file"]

    def make(name):
        shape = shapes[name]
        scale = 1 / np.sqrt(np.prod(shape[1:])) if len(shape) > 1 else 0.1
        return (rng.standard_normal(shape, np.float32) * scale).astype(np.float16)

    write_stream({k: (np.float16, tuple(v)) for k, v in shapes.items()}, make, path)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/fcs-bench-lora")
    out.mkdir(parents=True, exist_ok=True)
    shapes = json.loads(MANIFEST.read_text())["diffusers"]
    rng = np.random.default_rng(0)
    kohya, peft = {}, {}
    for name, shape in modules(shapes["unet"], UNET_TARGETS):
        key = "lora_unet_" + name.replace(".", "_")
        kohya[key + ".lora_down.weight"], kohya[key + ".lora_up.weight"] = factors(shape, rng)
        kohya[key + ".alpha"] = np.array(ALPHA, np.float32)
        peft[f"unet.{name}.lora_A.weight"], peft[f"unet.{name}.lora_B.weight"] = factors(shape, rng)
    for name, shape in modules(shapes["text_encoder"], TEXT_TARGETS):
        peft[f"text_encoder.{name}.lora_A.weight"], peft[f"text_encoder.{name}.lora_B.weight"] = factors(shape, rng)
    for tensors, file in ((kohya, "kohya.safetensors"), (peft, "peft.safetensors")):
        write(tensors, out / file)
        n = sum(k.endswith(("lora_down.weight", "lora_A.weight")) for k in tensors)
        print(f"{out / file}: {n} modules, rank {RANK}, {(out / file).stat().st_size / 2**20:.0f} MiB")
    write_checkpoint(out / "sd15.safetensors", rng)
    print(f"{out / 'sd15.safetensors'}: {(out / 'sd15.safetensors').stat().st_size / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
