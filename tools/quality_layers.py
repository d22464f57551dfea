#!/usr/bin/env python3
"""Layer extraction quality on the demo model: synthetic composites of two held-out photos
blended with a known soft mask, and OpenCV's alphamat plant with its reference matte
(alphamat/output_mattes/plant_result.png, the matte OpenCV's information-flow matting computes
from the trimap). Mask IoU (at ½), mean alpha error and the PSNR of the recomposed image
m·l1 + (1 − m)·l2, against a two-colour k-means segmentation. Appends to OUT/layers.md and
writes layers.png.

    python tools/quality_layers.py --photos /tmp/demo-data/photos --out /tmp/quality

Which layer is "1" is arbitrary, so each score is taken for the better of m and 1 − m.
"""
import os
import time

import cv2
import numpy as np
from PIL import Image

import fcs
from quality_data import SIZE, argument_parser, centre_square, scores, test_images

PAIRS = (("astronaut", "coffee", "disc"), ("baboon", "butterfly", "blob"))


def shape_mask(kind):
    """A soft ground-truth ownership mask (1 = the first photo): a disc, a smooth blob, a slanted edge."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / (SIZE - 1)
    if kind == "disc":
        hard = (xx - 0.45) ** 2 + (yy - 0.5) ** 2 < 0.3 ** 2
    elif kind == "blob":
        hard = np.sin(7 * xx) + np.cos(5 * yy + 1) > 0.3
    else:
        hard = xx + 0.4 * yy > 0.7
    return cv2.GaussianBlur(hard.astype(np.float32), (5, 5), 1.0)


def composites(folder):
    views = dict(test_images(folder))
    for first, second, kind in PAIRS:
        m = shape_mask(kind)
        image = m[..., None] * views[first] + (1 - m[..., None]) * views[second]
        yield f"{first} over {second} ({kind})", image.round().astype(np.uint8), m


def plant(folder):
    """OpenCV's alphamat plant (500×333), its centre square at 64×64, and the matte likewise
    (tools/fetch_demo_photos.sh puts them in alphamat/ beside photos/)."""
    root = os.path.join(os.path.dirname(os.path.abspath(folder)), "alphamat")
    image = centre_square(Image.open(os.path.join(root, "plant.jpg")).convert("RGB"))
    matte = centre_square(Image.open(os.path.join(root, "plant_result.png")).convert("L"))
    return "alphamat plant", image, matte.astype(np.float32) / 255


def kmeans_mask(image):
    """The baseline: two colour clusters, the hard mask of cluster 0."""
    pixels = image.reshape(-1, 3).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-3)
    cv2.setRNGSeed(0)
    _, labels, _ = cv2.kmeans(pixels, 2, None, criteria, 5, cv2.KMEANS_PP_CENTERS)
    return (labels.reshape(image.shape[:2]) == 0).astype(np.float32)


def mask_scores(mask, truth):
    """(IoU at ½, mean |alpha error|) for the better orientation of mask."""
    best = (0.0, 1.0)
    for m in (mask, 1 - mask):
        a, b = m > 0.5, truth > 0.5
        iou = (a & b).sum() / max((a | b).sum(), 1)
        best = max(best, (iou, float(np.abs(m - truth).mean())), key=lambda s: (s[0], -s[1]))
    return best


def main():
    parser = argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--block-size", type=int, default=16, help="side of the random initial blocks (64 px images)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    model = fcs.Model(args.model)
    lines = [f"\n## Layer extraction (model `{args.model}`, {SIZE}×{SIZE}, defaults: 3 EM iterations, 3 samples per layer, "
             f"2 restarts, 10-step inpaintings = 3,960 UNet forwards; initial blocks {args.block_size} px; seed {args.seed})\n",
             "| image | fcs IoU | fcs alpha error | fcs recomposition PSNR (dB) | k-means IoU | k-means alpha error | fcs seconds |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    tiles = []
    for name, image, truth in list(composites(args.photos)) + [plant(args.photos)]:
        start = time.perf_counter()
        layer1, layer2, mask = model.extract_layers(image, seed=args.seed, block_size=args.block_size)
        seconds = time.perf_counter() - start
        mask = mask.reshape(image.shape[:2])  # a one-channel result comes back H×W
        m = mask.astype(np.float32) / 255
        recomposed = m[..., None] * layer1 + (1 - m[..., None]) * layer2
        (iou, error), (k_iou, k_error) = mask_scores(m, truth), mask_scores(kmeans_mask(image), truth)
        lines.append(f"| {name} | {iou:.3f} | {error:.3f} | {scores(recomposed, image)[1]:.2f} | {k_iou:.3f} | {k_error:.3f} | {seconds:.0f} |")
        print(lines[-1], flush=True)
        grey = lambda a: np.repeat((a * 255).round().astype(np.uint8)[..., None], 3, axis=2)
        tiles.append(np.concatenate([image, grey(truth), layer1, layer2, grey(m)], axis=1))
    with open(os.path.join(args.out, "layers.md"), "a") as file:
        file.write("\n".join(lines) + "\n")
    grid = Image.fromarray(np.concatenate(tiles, axis=0))
    grid.resize((grid.width * 3, grid.height * 3), Image.NEAREST).save(os.path.join(args.out, "layers.png"))
    print("columns of layers.png: image, true mask, layer 1, layer 2, fcs mask")


if __name__ == "__main__":
    main()
