#!/usr/bin/env python3
"""The paper's ablations on the demo model and held-out photos: inner steps K, learning-rate (λ)
schedules, the finite-difference step h and the outer step count for inpainting (box mask), λ for
pixel-space ×4 super-resolution, and the convergence of the constraint residual over the inner
steps (residuals.png). Appends to OUT/ablations.md.

    python tools/quality_ablations.py --photos /tmp/demo-data/photos --out /tmp/quality [--limit 3]

The inpainting and super-resolution rows run fcs (Python package). The residual curves come from
tools/reference_sampler.py — the spec-written reference that fcs matches within 1e-3 — on the
same demo model in diffusers, because it can observe x̂0 inside the inner loop; its noise is
PyTorch's, not fcs's.
"""
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from diffusers import UNet2DModel
from safetensors.torch import load_file

import fcs
import reference_sampler
from quality_benchmark import bicubic
from quality_data import argument_parser, masks, scores, test_images

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "Sources/_FCSResources/include"


def linspace(first, last, count):
    return [float(v) for v in np.linspace(first, last, count)]


# name: fcs.Model.inpaint keyword arguments (defaults: K = 5, λ = linspace(0.5, 0.1, 5), h = 0.005, 20 steps)
INPAINTING = {
    "K": {f"K = {k}, λ = linspace(0.5, 0.1, {k})": dict(newton_steps=k, learning_rates=linspace(0.5, 0.1, k))
          for k in (1, 3, 5, 10)},
    "λ": {"λ = linspace(0.5, 0.1) (default)": {},
          "λ = 0.5 constant": dict(learning_rates=[0.5]),
          "λ = 0.1 constant": dict(learning_rates=[0.1]),
          "λ = linspace(1.0, 0.2)": dict(learning_rates=linspace(1.0, 0.2, 5)),
          "λ = linspace(0.1, 0.02)": dict(learning_rates=linspace(0.1, 0.02, 5)),
          "λ = linspace(0.05, 0.01)": dict(learning_rates=linspace(0.05, 0.01, 5))},
    "h": {f"h = {h}": dict(fd_step=h) for h in (0.0005, 0.005, 0.05)},
    "steps": {f"{n} steps": dict(steps=n) for n in (10, 20, 50)},
}
SUPERRES_RATES = (0.5, 0.05, 0.02, 0.005)


def forwards(steps=20, newton_steps=5, **_):
    return steps * (1 + 2 * newton_steps)


def inpainting_ablations(model, images, seed):
    mask = masks()["box"]
    lines = ["\n## Inpainting ablations (box mask, seed %d, %d images)\n" % (seed, len(images)),
             "| setting | UNet forwards | PSNR filled (dB) | PSNR image (dB) | SSIM | seconds / image |", "|---|---:|---:|---:|---:|---:|"]
    for group, settings in INPAINTING.items():
        for name, kwargs in settings.items():
            rows, start = [], time.perf_counter()
            for _, image in images:
                rows.append(scores(model.inpaint(image, mask, seed=seed, **{"steps": 20, **kwargs}), image, mask))
            mean = np.mean(rows, axis=0)
            lines.append(f"| {name} | {forwards(**kwargs)} | {mean[0]:.2f} | {mean[1]:.2f} | {mean[2]:.3f} | "
                         f"{(time.perf_counter() - start) / len(images):.1f} |")
            print(lines[-1], flush=True)
    return lines


def superres_ablations(model, images, seed):
    """λ for pixel-space ×4 SR (K = 10): PSNR against the original and the constraint's own
    fidelity, PSNR of A(result) against the low-resolution input."""
    lines = ["\n## Super-resolution ×4 λ (K = 10, 20 steps, seed %d, %d images)\n" % (seed, len(images)),
             "| λ | PSNR (dB) | SSIM | PSNR of A(x) vs y (dB) |", "|---|---:|---:|---:|"]
    for rate in SUPERRES_RATES:
        rows = []
        for _, image in images:
            low = bicubic(image, 0.25)
            result = model.super_resolve(low, scale=4, seed=seed, learning_rates=[rate])
            rows.append(scores(result, image)[1:] + (scores(bicubic(result, 0.25), low)[1],))
        mean = np.mean(rows, axis=0)
        lines.append(f"| {rate} | {mean[0]:.2f} | {mean[1]:.3f} | {mean[2]:.2f} |")
        print(lines[-1], flush=True)
    return lines


def demo_unet():
    """The demo model fcs embeds, as a diffusers UNet2DModel (float32)."""
    config = json.loads((DEMO / "demo-unet-config.json").read_text())
    unet = UNet2DModel.from_config(config)
    unet.load_state_dict({k: v.float() for k, v in load_file(DEMO / "demo-unet.fp16.safetensors").items()})
    return unet.eval()


def residual_curves(image, out, newton_steps=10, schedules=((0.5, 0.1), (0.1, 0.02))):
    """RMS of the inpainting residual M ⊙ (y − x̂0) over the known pixels after each inner step of
    each outer step, for λ = linspace(first, last, K) per schedule; residuals.png, one panel each."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    unet = demo_unet()
    y = torch.from_numpy(image.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1
    known = torch.from_numpy(masks()["box"] == 0)[None, None].float()
    reference_sampler.STEPS = 20
    shown = (0, 4, 9, 14, 19)
    figure, panels = plt.subplots(1, len(schedules), figsize=(5.5 * len(schedules), 4), dpi=110, sharey=True)
    lines = [f"\n## Constraint residual per inner step (reference sampler, demo model, box mask, K = {newton_steps})\n",
             "RMS of M ⊙ (y − x̂0) over the known pixels ([-1, 1] units) after k inner steps.\n",
             f"| λ schedule | outer step | k = 0 | k = 1 | k = 3 | k = {newton_steps} | k = {newton_steps} / k = 0 |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for axes, (first, last) in zip(np.atleast_1d(panels), schedules):
        residual = np.zeros((20, newton_steps + 1))

        def observe(n, k, x0):
            residual[n, k] = float(((known * (y - x0)) ** 2).sum() / (3 * known.sum())) ** 0.5

        torch.manual_seed(0)
        x_T = torch.randn(1, 3, 64, 64)
        zs = [torch.randn_like(x_T) for _ in range(20)]
        p = dict(guidance_weight=0.0, convention="consistent", newton_steps=newton_steps,
                 learning_rates=linspace(first, last, newton_steps), h=0.005)
        with torch.inference_mode():
            reference_sampler.sample(lambda x, t, encoder_hidden_states=None: unet(x, t), lambda x0: known * (y - x0),
                                     None, None, x_T, zs, p, observe=observe)
        name = f"λ = linspace({first}, {last}, {newton_steps})"
        for n in shown:
            axes.plot(range(newton_steps + 1), residual[n], marker="o", label=f"outer step {n + 1} (t = {1000 - 50 * n})")
            r = residual[n]
            lines.append(f"| {name} | {n + 1} | {r[0]:.4f} | {r[1]:.4f} | {r[3]:.4f} | {r[-1]:.4f} | {r[-1] / r[0]:.3f} |")
        axes.set_yscale("log")
        axes.set_xlabel("inner step k")
        axes.set_title(name)
        axes.legend(fontsize=7)
    np.atleast_1d(panels)[0].set_ylabel("RMS residual on known pixels")
    figure.suptitle("Constraint residual per inner step (demo model, box mask)")
    figure.tight_layout()
    figure.savefig(os.path.join(out, "residuals.png"))
    print("\n".join(lines), flush=True)
    return lines


def main():
    parser = argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=3, help="the first N test images")
    parser.add_argument("--only", choices=["inpainting", "superres", "residuals"], nargs="+",
                        default=["inpainting", "superres", "residuals"])
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(2)
    images = test_images(args.photos)[: args.limit]
    model = fcs.Model(args.model)
    lines = [f"# Ablations (model `{args.model}`)"]
    if "residuals" in args.only:
        lines += residual_curves(images[0][1], args.out)
    if "superres" in args.only:
        lines += superres_ablations(model, images, args.seed)
    if "inpainting" in args.only:
        lines += inpainting_ablations(model, images, args.seed)
    with open(os.path.join(args.out, "ablations.md"), "a") as file:
        file.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
