"""numpy / PIL / pyvips images <-> fcs_image buffers.

numpy arrays are HWC (or HW for grey) uint8 0…255 or float32 0…1; a result comes back as the
same kind of object, channels and dtype as the image it was made from.
"""
import ctypes

import numpy as np

from ._library import FCS_PIXEL_F32, FCS_PIXEL_U8, Image, lib


def to_array(image, name):
    """(HWC array, kind) for a numpy array, PIL image or pyvips image."""
    module = type(image).__module__.split(".")[0]
    if module == "PIL":
        if image.mode not in ("L", "RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        return np.asarray(image), "pil"
    if module == "pyvips":
        array = image.numpy()
        if array.dtype != np.uint8:
            full = 65535.0 if array.dtype == np.uint16 else 255.0
            array = array.astype(np.float32) / np.float32(full)
        return array, "pyvips"
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, PIL image or pyvips image, not {type(image).__name__}")
    return image, "numpy"


def to_fcs_image(image, name):
    """(Image struct, array that owns its pixels, kind). Keep the array alive during the call."""
    array, kind = to_array(image, name)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(f"{name} must be H×W or H×W×C with C in 1, 3, 4; got shape {array.shape}")
    if array.dtype == np.uint8:
        pixel_format = FCS_PIXEL_U8
    elif array.dtype in (np.float32, np.float64):
        pixel_format, array = FCS_PIXEL_F32, array.astype(np.float32, copy=False)
    else:
        raise TypeError(f"{name} must be uint8 (0…255) or float32 (0…1), not {array.dtype}")
    array = np.ascontiguousarray(array)
    height, width, channels = array.shape
    struct = Image(width, height, channels, pixel_format, 0, array.ctypes.data_as(ctypes.c_void_p))
    return struct, array, kind


def from_fcs_image(struct, kind):
    """Copies an fcs-owned result into the caller's kind of image and frees it."""
    try:
        dtype = np.uint8 if struct.format == FCS_PIXEL_U8 else np.float32
        shape = (struct.height, struct.width, struct.channels)
        count = struct.height * struct.stride
        array = np.frombuffer(ctypes.string_at(struct.data, count), dtype=dtype).reshape(shape).copy()
    finally:
        lib.fcs_image_free(ctypes.byref(struct))
    grey = array.shape[2] == 1
    if grey:
        array = array[:, :, 0]
    if kind == "pil":
        from PIL import Image as PILImage
        if array.dtype != np.uint8:
            array = (np.clip(array, 0, 1) * 255 + 0.5).astype(np.uint8)
        return PILImage.fromarray(array)
    if kind == "pyvips":
        import pyvips
        result = pyvips.Image.new_from_array(array if array.dtype == np.uint8 else array * np.float32(255))
        return result.copy(interpretation="b-w" if grey else "srgb")
    return array
