"""The quality benchmark's data and metrics, shared by quality_benchmark.py, quality_ablations.py
and quality_layers.py: 64×64 test views of the held-out photos (train_demo_model.HELD_OUT, never
trained on), the fixed masks, OpenCV's fuzzy/ inpainting set, and the scores.
"""
import argparse
import os

import cv2
import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from train_demo_model import HELD_OUT

PHOTOS = sorted(name for name in HELD_OUT if not name.startswith(("mask", "fuzzy")))
SIZE = 64
FUZZY_SIZE = 96  # OpenCV's 500×500 fuzzy/ image, shrunk to 2×2 overlapping demo-model tiles


def argument_parser(description):
    """The options every quality script takes: --model, --photos and --out."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", default="demo", help="the model fcs loads (default: the demo model)")
    parser.add_argument("--photos", required=True, help="the photos/ folder of tools/fetch_demo_photos.sh")
    parser.add_argument("--out", required=True, help="the folder for the tables and figures")
    return parser


def photo_path(folder, stem):
    return next(os.path.join(folder, n) for n in sorted(os.listdir(folder)) if os.path.splitext(n)[0] == stem)


def centre_square(picture):
    """The largest centred square of a PIL image, shrunk to SIZE×SIZE (Lanczos), as an array."""
    side = min(picture.size)
    left, top = (picture.width - side) // 2, (picture.height - side) // 2
    return np.asarray(picture.crop((left, top, left + side, top + side)).resize((SIZE, SIZE), Image.LANCZOS))


def test_images(folder):
    """Two 64×64 views of each held-out photo: the whole photo shrunk, and a centre crop at 35 %."""
    images = []
    for stem in PHOTOS:
        photo = Image.open(photo_path(folder, stem)).convert("RGB")
        images.append((stem, centre_square(photo)))
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


def fuzzy_set(folder):
    """OpenCV's fuzzy/ inpainting example at 96×96: the image and its three masks as fill masks.

    In OpenCV's masks black marks the damaged pixels. The strokes (mask1) and the shapes (mask3)
    are shrunk so that a pixel is filled if any pixel it covers was damaged; mask2, a periodic
    pattern of single damaged pixels, is subsampled nearest so that it stays a sparse pattern.
    """
    image = np.asarray(Image.open(photo_path(folder, "fuzzy_input")).convert("RGB").resize((FUZZY_SIZE,) * 2, Image.LANCZOS))
    fills = {}
    for name in ("mask1", "mask2", "mask3"):
        damaged = (np.asarray(Image.open(photo_path(folder, name)).convert("L")) == 0).astype(np.uint8) * 255
        if name == "mask2":
            fill = cv2.resize(damaged, (FUZZY_SIZE,) * 2, interpolation=cv2.INTER_NEAREST)
        else:
            fill = cv2.resize(damaged, (FUZZY_SIZE,) * 2, interpolation=cv2.INTER_AREA)
            fill = np.where(fill > 0, 255, 0).astype(np.uint8)
        fills[name] = fill
    return image, fills


def scores(result, truth, mask=None):
    """(PSNR over the masked pixels, PSNR and SSIM of the image); uint8 images, dB over 0…1."""
    a, b = result.astype(np.float64) / 255, truth.astype(np.float64) / 255
    masked = 10 * np.log10(1 / max(((a - b) ** 2)[mask > 0].mean(), 1e-10)) if mask is not None else float("nan")
    return masked, peak_signal_noise_ratio(b, a, data_range=1), structural_similarity(b, a, channel_axis=2, data_range=1)
