#!/usr/bin/env python3
"""fcs's quality benchmark on real photos the demo model never saw (train_demo_model.HELD_OUT),
through the fcs Python package: inpainting with box and free-form masks, ×4 super-resolution,
against baselines, with fixed seeds; writes results.md (tables) and grid.png.

    tools/fetch_demo_photos.sh /tmp/demo-data
    pip install ./bindings/python opencv-python-headless scikit-image resize-right pillow
    python tools/quality_benchmark.py --model demo --photos /tmp/demo-data/photos --out /tmp/quality

Methods (inpainting): fcs (K = 5, 20 steps: 220 UNet forwards), the replacement method with the
same forward budget (220 steps), unconstrained sampling (K = 0: the floor), OpenCV Telea and
Navier–Stokes. (Super-resolution): fcs (K = 10: 420 forwards), bicubic (the resizer of the
constraint, resize-right) and Lanczos (PIL). PSNR and SSIM over the masked pixels / the image.
"""
import argparse
import os
import time

import cv2
import numpy as np
from PIL import Image
from resize_right import interp_methods, resize
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

import fcs
from train_demo_model import HELD_OUT

PHOTOS = sorted(name for name in HELD_OUT if not name.startswith(("mask", "fuzzy")))
SIZE = 64


def test_images(folder):
    """Two 64×64 views of each held-out photo: the whole photo shrunk, and a centre crop at 35 %."""
    images = []
    for stem in PHOTOS:
        path = next(os.path.join(folder, n) for n in os.listdir(folder) if os.path.splitext(n)[0] == stem)
        photo = Image.open(path).convert("RGB")
        side = min(photo.size)
        square = photo.crop(((photo.width - side) // 2, (photo.height - side) // 2,
                             (photo.width + side) // 2, (photo.height + side) // 2))
        images.append((f"{stem}", np.asarray(square.resize((SIZE, SIZE), Image.LANCZOS))))
        small = photo.resize((round(photo.width * 0.35), round(photo.height * 0.35)), Image.LANCZOS)
        left, top = (small.width - SIZE) // 2, (small.height - SIZE) // 2
        images.append((f"{stem}-crop", np.asarray(small.crop((left, top, left + SIZE, top + SIZE)))))
    return images


def masks():
    """The fixed masks (255 = fill): a centred box of a quarter of the area, and brush strokes."""
    box = np.zeros((SIZE, SIZE), np.uint8)
    box[SIZE // 4: 3 * SIZE // 4, SIZE // 4: 3 * SIZE // 4] = 255
    free = np.zeros((SIZE, SIZE), np.uint8)
    rng = np.random.default_rng(7)
    for _ in range(4):
        points = np.cumsum(rng.integers(-9, 10, (6, 2)), axis=0) + rng.integers(12, SIZE - 12, 2)
        cv2.polylines(free, [np.clip(points, 0, SIZE - 1).astype(np.int32)], False, 255, thickness=int(rng.integers(4, 8)))
    return {"box": box, "free-form": free}


def scores(result, truth, mask=None):
    """(PSNR over the masked pixels, PSNR and SSIM of the image)."""
    a, b = result.astype(np.float64) / 255, truth.astype(np.float64) / 255
    masked = 10 * np.log10(1 / max(((a - b) ** 2)[mask > 0].mean(), 1e-10)) if mask is not None else float("nan")
    return masked, peak_signal_noise_ratio(b, a, data_range=1), structural_similarity(b, a, channel_axis=2, data_range=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="demo")
    parser.add_argument("--photos", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--limit", type=int, help="only the first N test images (a quick look)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    model = fcs.Model(args.model)
    images = test_images(args.photos)[: args.limit]
    report = [f"# fcs quality benchmark\n\nmodel `{args.model}`, {len(images)} test images of {SIZE}×{SIZE} "
              f"from {len(PHOTOS)} held-out photos, seeds {args.seeds}\n"]

    inpainting = {
        "fcs (K = 5, 20 steps)": (220, lambda im, m, s: model.inpaint(im, m, steps=20, seed=s)),
        "replacement (220 steps)": (220, lambda im, m, s: model.inpaint(im, m, steps=220, seed=s, method="replacement")),
        "unconstrained (K = 0)": (20, lambda im, m, s: model.inpaint(im, m, steps=20, seed=s, newton_steps=0, paste_back=False)),
        "OpenCV Telea": (0, lambda im, m, s: cv2.inpaint(im, m, 3, cv2.INPAINT_TELEA)),
        "OpenCV Navier–Stokes": (0, lambda im, m, s: cv2.inpaint(im, m, 3, cv2.INPAINT_NS)),
    }
    grid_rows = []
    for mask_name, mask in masks().items():
        Image.fromarray(mask).save(os.path.join(args.out, f"mask-{mask_name}.png"))
        report.append(f"\n## Inpainting, {mask_name} mask ({100 * (mask > 0).mean():.0f} % of the pixels)\n\n"
                      "| method | UNet forwards | PSNR masked (dB) | PSNR image (dB) | SSIM image | seconds / image |\n"
                      "|---|---:|---:|---:|---:|---:|")
        for method, (forwards, run) in inpainting.items():
            rows, seconds = [], 0.0
            for index, (name, image) in enumerate(images):
                for seed in (args.seeds if forwards else [0]):
                    start = time.perf_counter()
                    result = run(image, mask, seed)
                    seconds += time.perf_counter() - start
                    rows.append(scores(result, image, mask))
                    if index < 4 and seed == args.seeds[0] and mask_name == "box":
                        grid_rows.append((name, method, result))
            mean = np.mean(rows, axis=0)
            report.append(f"| {method} | {forwards} | {mean[0]:.2f} | {mean[1]:.2f} | {mean[2]:.3f} | {seconds / len(rows):.1f} |")
            print(report[-1], flush=True)

    report.append("\n## Super-resolution ×4 (from bicubic-antialias downsampling)\n\n"
                  "| method | UNet forwards | PSNR (dB) | SSIM | seconds / image |\n|---|---:|---:|---:|---:|")
    upscalers = {
        "fcs (K = 10, 20 steps)": (420, lambda low, s: model.superres(low, scale=4, steps=20, seed=s)),
        "bicubic": (0, lambda low, s: np.clip(resize(low.astype(np.float32), scale_factors=[4, 4, 1],
                                                     interp_method=interp_methods.cubic), 0, 255).round().astype(np.uint8)),
        "Lanczos": (0, lambda low, s: np.asarray(Image.fromarray(low).resize((SIZE, SIZE), Image.LANCZOS))),
    }
    for method, (forwards, run) in upscalers.items():
        rows, seconds = [], 0.0
        for name, image in images:
            low = np.clip(resize(image.astype(np.float32), scale_factors=[0.25, 0.25, 1], interp_method=interp_methods.cubic),
                          0, 255).round().astype(np.uint8)
            for seed in (args.seeds if forwards else [0]):
                start = time.perf_counter()
                result = run(low, seed)
                seconds += time.perf_counter() - start
                rows.append(scores(result, image)[1:])
        mean = np.mean(rows, axis=0)
        report.append(f"| {method} | {forwards} | {mean[0]:.2f} | {mean[1]:.3f} | {seconds / len(rows):.1f} |")
        print(report[-1], flush=True)

    with open(os.path.join(args.out, "results.md"), "w") as file:
        file.write("\n".join(report) + "\n")
    names = list(dict.fromkeys(name for name, _, _ in grid_rows))
    methods = list(inpainting)
    box = masks()["box"]
    tiles = []
    for name in names:
        truth = dict(images)[name]
        holed = np.where(box[..., None] > 0, 127, truth).astype(np.uint8)
        results = {method: result for n, method, result in grid_rows if n == name}
        tiles.append(np.concatenate([holed] + [results[m] for m in methods] + [truth], axis=1))
    grid = Image.fromarray(np.concatenate(tiles, axis=0))
    grid.resize((grid.width * 3, grid.height * 3), Image.NEAREST).save(os.path.join(args.out, "grid.png"))
    print("columns of grid.png: input with hole, " + ", ".join(methods) + ", original")


if __name__ == "__main__":
    main()
