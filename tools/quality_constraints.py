#!/usr/bin/env python3
"""fcs's deblurring and colourisation on the quality benchmark's held-out photos (quality_data:
64×64 views the demo model never saw), against classical baselines, with fixed seeds; writes
constraints.md (PSNR / SSIM tables) and constraints.png (a grid) into --out.

    tools/fetch_demo_photos.sh /tmp/demo-data
    pip install ./bindings/python numpy scipy scikit-image pillow opencv-python-headless
    python tools/quality_constraints.py --model demo --photos /tmp/demo-data/photos --out tools/quality

Deblurring: y = k ∗ x + n, n ~ N(0, 0.01²) on the 0…1 scale, for a Gaussian of σ = 1 and 2 and a
diagonal motion kernel of 9 px, the image mirrored at its borders (scipy.ndimage "reflect": the
operator fcs's constraint assumes). Methods: fcs (the blur's adjoint as the lift, K = 10, 20
steps, the pixel-space λ = 0.05: 420 UNet forwards), scikit-image's Richardson–Lucy (30
iterations) and Wiener filter (balance 0.01), and the blurred input itself.
Each classical method also runs on the image mirrored by the kernel's size and cropped back
(without it, their zero or periodic borders ring across a 64×64 image).
Colourisation: y = the Rec. 601 luminance. Methods: fcs (K = 10, 20 steps), the grey input, and a
chroma prior — the mean (Cb, Cr) of each of 32 luminance bins over the photos the demo model was
trained on (not the held-out ones), a per-pixel lookup.
"""
import os
import time

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage import restoration

import fcs
from quality_data import argument_parser, photo_path, scores, test_images
from train_demo_model import HELD_OUT

SEED, NOISE = 0, 0.01
LUMA = np.array([0.299, 0.587, 0.114])


def gaussian_kernel(sigma):
    """The Gaussian fcs builds (truncated at 4σ, normalised), as a 2-D kernel."""
    radius = int(4 * sigma + 0.5)
    g = np.exp(-0.5 * np.arange(-radius, radius + 1) ** 2 / sigma ** 2)
    kernel = np.outer(g, g)
    return kernel / kernel.sum()


def motion_kernel(length=9):
    kernel = np.eye(length)
    return kernel / kernel.sum()


BLURS = {"Gaussian σ = 1": (gaussian_kernel(1.0), dict(sigma=1.0)),
         "Gaussian σ = 2": (gaussian_kernel(2.0), dict(sigma=2.0)),
         "motion 9 px (diagonal)": (motion_kernel(), dict(kernel=motion_kernel().astype(np.float32)))}


def blur(image, kernel, rng):
    """k ∗ x + n as uint8, per channel, mirrored borders."""
    x = image.astype(np.float64) / 255
    y = np.stack([ndimage.convolve(x[:, :, c], kernel, mode="reflect") for c in range(3)], axis=-1)
    y = y + rng.normal(0, NOISE, y.shape)
    return (np.clip(y, 0, 1) * 255 + 0.5).astype(np.uint8)


def per_channel(function, image):
    x = image.astype(np.float64) / 255
    out = np.stack([function(x[:, :, c]) for c in range(3)], axis=-1)
    return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)


def padded(deconvolve, kernel):
    """deconvolve(channel) run on the channel mirrored by the kernel's size at every border (as
    the degradation mirrored it), cropped back: without it the classical deconvolutions' zero or
    periodic borders ring across a 64×64 image."""
    pad = max(kernel.shape)

    def run(channel):
        return deconvolve(np.pad(channel, pad, mode="symmetric"))[pad:-pad, pad:-pad]  # symmetric = scipy's "reflect"
    return run


def deblurring_methods(model, steps, newton_steps):
    """name: (UNet forwards, run(blurred, kernel, fcs arguments) -> image)."""
    def richardson_lucy(k):
        return lambda c: restoration.richardson_lucy(c, k, num_iter=30, clip=True)

    def wiener(k):
        return lambda c: restoration.wiener(c, k, balance=0.01, clip=True)

    return {
        f"fcs (K = {newton_steps}, {steps} steps)": (steps * (1 + 2 * newton_steps), lambda y, k, a: model.deblur(
            y, steps=steps, newton_steps=newton_steps, seed=SEED, **a)),
        "Richardson–Lucy (30 iterations)": (0, lambda y, k, a: per_channel(richardson_lucy(k), y)),
        "Richardson–Lucy (30 iterations), mirrored borders": (0, lambda y, k, a: per_channel(padded(richardson_lucy(k), k), y)),
        "Wiener (balance 0.01)": (0, lambda y, k, a: per_channel(wiener(k), y)),
        "Wiener (balance 0.01), mirrored borders": (0, lambda y, k, a: per_channel(padded(wiener(k), k), y)),
        "blurred input": (0, lambda y, k, a: y),
    }


def ycbcr(rgb):
    """JPEG's Y, Cb, Cr of 0…1 RGB (Y = Rec. 601 luma)."""
    y = rgb @ LUMA
    return y, (rgb[..., 2] - y) * 0.564, (rgb[..., 0] - y) * 0.713


def chroma_prior(folder, bins=32):
    """Mean (Cb, Cr) per luminance bin over the training photos (64×64 shrinks)."""
    sums, counts = np.zeros((bins, 2)), np.zeros(bins)
    for name in sorted(os.listdir(folder)):
        stem = os.path.splitext(name)[0]
        if stem in HELD_OUT:
            continue
        rgb = np.asarray(Image.open(os.path.join(folder, name)).convert("RGB").resize((64, 64), Image.LANCZOS)) / 255.0
        y, cb, cr = ycbcr(rgb)
        index = np.minimum((y * bins).astype(int), bins - 1)
        np.add.at(sums, index.ravel(), np.stack([cb.ravel(), cr.ravel()], axis=1))
        np.add.at(counts, index.ravel(), 1)
    return sums / np.maximum(counts, 1)[:, None]


def from_ycbcr(y, cb, cr):
    rgb = np.stack([y + cr / 0.713, y - (0.299 * cr / 0.713 + 0.114 * cb / 0.564) / 0.587, y + cb / 0.564], axis=-1)
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def colourisation_methods(model, prior, steps, newton_steps):
    bins = len(prior)

    def lookup(grey):
        y = grey / 255.0
        index = np.minimum((y * bins).astype(int), bins - 1)
        return from_ycbcr(y, prior[index, 0], prior[index, 1])

    return {
        f"fcs (K = {newton_steps}, {steps} steps)": (steps * (1 + 2 * newton_steps), lambda grey: model.colorize(
            grey, steps=steps, newton_steps=newton_steps, seed=SEED)),
        "chroma prior (mean Cb, Cr per luminance)": (0, lookup),
        "grey input": (0, lambda grey: np.repeat(grey[:, :, None], 3, axis=2)),
    }


def table(title, rows, unit="PSNR (dB) / SSIM of the image"):
    lines = [f"### {title}", "", f"| method | UNet forwards | {unit} | s / image |", "|---|---|---|---|"]
    for method, (forwards, (psnr, ssim), seconds) in rows.items():
        lines.append(f"| {method} | {forwards} | {psnr:.2f} / {ssim:.3f} | {seconds:.2f} |")
    return lines + [""]


def grid(rows, path, scale=2):
    """rows: [[image, …], …] of equal-sized uint8 images, enlarged `scale`× (nearest)."""
    h, w = rows[0][0].shape[:2]
    canvas = np.full((len(rows) * (h * scale + 2), len(rows[0]) * (w * scale + 2), 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            big = np.kron(image, np.ones((scale, scale, 1), np.uint8))
            canvas[r * (h * scale + 2): r * (h * scale + 2) + h * scale, c * (w * scale + 2): c * (w * scale + 2) + w * scale] = big
    Image.fromarray(canvas).save(path)


def main():
    parser = argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=0, help="only the first N test images (0: all)")
    parser.add_argument("--whole-only", action="store_true", help="only the whole-photo views (not the 35 %% crops)")
    parser.add_argument("--steps", type=int, default=20, help="fcs's outer steps (default 20)")
    parser.add_argument("--newton-steps", type=int, default=10, help="fcs's inner steps K (default 10, as fcs_solve's)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    images = [(name, image) for name, image in test_images(args.photos) if not (args.whole_only and name.endswith("-crop"))]
    if args.images:
        images = images[:args.images]
    lines = ["# Deblurring and colourisation on held-out photos", "",
             f"{len(images)} 64×64 views of the held-out photos ({', '.join(name for name, _ in images)}), seed {SEED}, the demo model,",
             f"`{' '.join(['quality_constraints.py'] + [a for a in os.sys.argv[1:] if not a.startswith('/')])}`.",
             "PSNR and SSIM against the original photo, means over the images. Grid (constraints.png): per row the",
             "original, the degraded image, then the deblurring methods in table order (Gaussian σ = 2, then motion); then",
             "original, grey, fcs, chroma prior.", ""]
    figure = []
    with fcs.Model(args.model) as model:
        methods = deblurring_methods(model, args.steps, args.newton_steps)
        lines += ["## Deblurring", "", f"y = k ∗ x + n, n ~ N(0, {NOISE}²) (0…1 scale). scikit-image's Richardson–Lucy and",
                  "Wiener run as they come (zero / periodic borders) and on the image mirrored by the kernel's size, then",
                  "cropped (\"mirrored borders\": the fair comparison, since the degradation mirrored it).", ""]
        for blur_name, (kernel, arguments) in BLURS.items():
            rng = np.random.default_rng(1)
            degraded = [(name, image, blur(image, kernel, rng)) for name, image in images]
            rows = {}
            for method, (forwards, run) in methods.items():
                results, seconds = [], 0.0
                for name, image, y in degraded:
                    start = time.perf_counter()
                    results.append(run(y, kernel, arguments))
                    seconds += time.perf_counter() - start
                metric = np.mean([scores(r, image)[1:] for r, (_, image, _) in zip(results, degraded)], axis=0)
                rows[method] = (forwards, metric, seconds / len(degraded))
                if blur_name == "Gaussian σ = 2" or blur_name.startswith("motion"):
                    for k in (0, 1):
                        if k < len(results):
                            figure.append((blur_name, k, method, results[k], degraded[k][1]))
            lines += table(blur_name, rows)
        prior = chroma_prior(args.photos)
        lines += ["## Colourisation", "", "y = Rec. 601 luminance; every method keeps it (fcs exactly, up to 8-bit rounding).", ""]
        rows, colour_figure = {}, []
        for method, (forwards, run) in colourisation_methods(model, prior, args.steps, args.newton_steps).items():
            results, seconds = [], 0.0
            for name, image in images:
                grey = (np.clip(image.astype(np.float64) @ LUMA, 0, 255) + 0.5).astype(np.uint8)
                start = time.perf_counter()
                results.append(run(grey))
                seconds += time.perf_counter() - start
            rows[method] = (forwards, np.mean([scores(r, image)[1:] for r, (_, image) in zip(results, images)], axis=0),
                            seconds / len(images))
            colour_figure.append(results[:4])
        lines += table("Colourisation", rows)
    with open(os.path.join(args.out, "constraints.md"), "w") as f:
        f.write("\n".join(lines))
    # the grid: per row an image and degradation: original, degraded, then each method
    rows = []
    for blur_name in ("Gaussian σ = 2", "motion 9 px (diagonal)"):
        for k in (0, 1):
            entries = [e for e in figure if e[0] == blur_name and e[1] == k]
            if entries:
                truth = entries[0][4]
                blurred = next(e[3] for e in entries if e[2] == "blurred input")
                rows.append([truth, blurred] + [e[3] for e in entries if e[2] != "blurred input"])
    for k in range(min(4, len(images))):
        truth = images[k][1]
        rows.append([truth, colour_figure[2][k], colour_figure[0][k], colour_figure[1][k], np.full_like(truth, 255)])
    grid(rows, os.path.join(args.out, "constraints.png"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
