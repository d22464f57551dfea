"""Writes a full-size Stable Diffusion 1.5 model with seeded random weights, as an fp16 checkpoint in the
diffusers folder layout (what `StableDiffusionPipeline.save_pretrained(..., variant="fp16")` writes for
`torch_dtype=torch.float16`), for memory and speed measurements on real file sizes (never for tests or git):

    /work/venv-ref/bin/python tools/make_sd15_random_model.py /tmp/sd15-random-fp16     (~2 GB, about a minute)

    model_index.json, scheduler/scheduler_config.json          SD 1.5's (PNDMScheduler)
    unet/config.json, diffusion_pytorch_model.fp16.safetensors  F16, SD 1.5's 686 tensors (1.72 GB)
    vae/config.json, diffusion_pytorch_model.fp16.safetensors   F16, 248 tensors (167 MB)
    text_encoder/config.json, model.fp16.safetensors           F16, 196 tensors with the `text_model.` level (246 MB)
    tokenizer/                                                  CLIP's full vocabulary (49,408 tokens), as SD 1.5's

Names, shapes and configs come from the committed SD 1.5 manifest (tools/make_sd15_manifest.py), the
tokenizer from OpenAI CLIP's BPE file in Sources/_FCSResources (tools/make_tiny_models.py writes it the same
way, cut short). Weights: NumPy's default_rng(seed), tensor by tensor in file order: matrices and kernels
N(0, 1/fan_in), norm scales U(0.75, 1.25), biases and norm shifts U(-0.1, 0.1), so that activations keep
their scale through the networks and the sampler's predictions stay finite. Same seed, same bytes.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from make_bench_loras import MANIFEST, write_stream  # noqa: E402
from make_tiny_models import BPE_FILE, SCHEDULER_CONFIG, read_clip_merges, write_tokenizer  # noqa: E402

CLIP_VOCAB_SIZE = 49408
CLIP_MERGES = CLIP_VOCAB_SIZE - 2 * 256 - 2  # as CLIP's SimpleTokenizer: bytes, bytes</w>, merges, 2 specials

MODEL_INDEX = {
    "_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.42.1",
    "feature_extractor": [None, None], "image_encoder": [None, None], "requires_safety_checker": False,
    "safety_checker": [None, None], "scheduler": ["diffusers", "PNDMScheduler"],
    "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
    "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
}

# component folder -> (weight file, manifest component)
FILES = {"unet": "diffusion_pytorch_model.fp16.safetensors", "vae": "diffusion_pytorch_model.fp16.safetensors",
         "text_encoder": "model.fp16.safetensors"}


def random_tensor(name: str, shape: list[int], rng: np.random.Generator) -> np.ndarray:
    if len(shape) > 1:
        return (rng.standard_normal(shape, np.float32) * np.float32(np.prod(shape[1:]) ** -0.5)).astype(np.float16)
    if "norm" in name and name.endswith(".weight"):
        return rng.uniform(0.75, 1.25, shape).astype(np.float16)
    return rng.uniform(-0.1, 0.1, shape).astype(np.float16)


def write_json(path: Path, value: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the model folder to write (e.g. /tmp/sd15-random-fp16)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    rng = np.random.default_rng(args.seed)
    write_json(args.out / "model_index.json", MODEL_INDEX)
    write_json(args.out / "scheduler/scheduler_config.json",
               {"_class_name": "PNDMScheduler", "_diffusers_version": "0.42.1", **SCHEDULER_CONFIG, "clip_sample": False})
    for component, file in FILES.items():
        write_json(args.out / component / "config.json", manifest["configs"][component])
        shapes = manifest["diffusers"][component]
        path = args.out / component / file
        write_stream({k: (np.float16, tuple(v)) for k, v in shapes.items()}, lambda k: random_tensor(k, shapes[k], rng), path)
        print(f"{path}: {len(shapes)} tensors, {path.stat().st_size / 2**20:.0f} MiB")
    write_tokenizer(args.out / "tokenizer", read_clip_merges(BPE_FILE, CLIP_MERGES), vocab_size=CLIP_VOCAB_SIZE)
    print(f"{args.out / 'tokenizer'}: CLIP's vocabulary, {CLIP_VOCAB_SIZE} tokens")


if __name__ == "__main__":
    main()
