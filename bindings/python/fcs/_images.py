"""numpy / PIL / pyvips images <-> fcs_image buffers.

numpy arrays are HWC (or HW for grey): uint8 (0…255), uint16 (0…65535), float16 / float32 /
float64 (0…1) or bool (False / True, e.g. a mask). pyvips images come as vips has them (uchar,
ushort, float 0…255). A result comes back as the same kind of object, with the channels and
dtype (band format) of the image it was made from.
"""
import ctypes
from collections import namedtuple

import numpy as np

from ._library import FCS_PIXEL_F32, FCS_PIXEL_U8, Image, lib

# What a result is converted back into: "numpy", "pil" or "pyvips", and the numpy dtype.
Like = namedtuple("Like", "kind dtype")

# dtypes fcs takes as they are; the others are converted to float32 0…1 and back.
_FLOAT_RANGE = {np.dtype(np.uint16): 65535.0, np.dtype(np.bool_): 1.0,
                np.dtype(np.float16): 1.0, np.dtype(np.float32): 1.0, np.dtype(np.float64): 1.0}


def to_array(image, name):
    """(HWC array, kind) for a numpy array, PIL image or pyvips image."""
    module = type(image).__module__.split(".")[0]
    if module == "PIL":
        if image.mode not in ("L", "RGB", "RGBA", "I;16"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        return np.asarray(image), "pil"
    if module == "pyvips":
        array = image.numpy()
        if array.dtype.kind == "f":  # vips' float sRGB is 0…255
            array = array.astype(np.float32) / np.float32(255)
        return array, "pyvips"
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, PIL image or pyvips image, not {type(image).__name__}")
    return image, "numpy"


def to_fcs_image(image, name):
    """(Image struct, array that owns its pixels, Like). Keep the array alive during the call."""
    array, kind = to_array(image, name)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(f"{name} must be H×W or H×W×C with C in 1, 3, 4; got shape {array.shape}")
    like = Like(kind, array.dtype)
    if array.dtype == np.uint8:
        pixel_format = FCS_PIXEL_U8
    elif array.dtype in _FLOAT_RANGE:
        full = _FLOAT_RANGE[array.dtype]
        pixel_format = FCS_PIXEL_F32
        array = array.astype(np.float32) if full == 1.0 else array.astype(np.float32) / np.float32(full)
    else:
        raise TypeError(f"{name} must be uint8 (0…255), uint16 (0…65535), float16/32/64 (0…1) or bool, not {array.dtype}")
    array = np.ascontiguousarray(array)
    height, width, channels = array.shape
    struct = Image(width, height, channels, pixel_format, 0, array.ctypes.data_as(ctypes.c_void_p))
    return struct, array, like


def _to_dtype(array, dtype):
    """An fcs result (uint8, or float32 0…1) in dtype, as the input was."""
    if array.dtype == dtype:
        return array
    if dtype == np.bool_:
        return array >= 0.5
    full = _FLOAT_RANGE[np.dtype(dtype)]
    if full == 1.0:
        return array.astype(dtype)
    return np.rint(np.clip(array, 0, 1) * full).astype(dtype)


def from_fcs_image(struct, like):
    """Copies an fcs-owned result into the caller's kind of image and dtype, and frees it."""
    try:
        dtype = np.uint8 if struct.format == FCS_PIXEL_U8 else np.float32
        shape = (struct.height, struct.width, struct.channels)
        count = struct.height * struct.stride
        array = np.frombuffer(ctypes.string_at(struct.data, count), dtype=dtype).reshape(shape).copy()
    finally:
        lib.fcs_image_free(ctypes.byref(struct))
    array = _to_dtype(array, like.dtype)
    grey = array.shape[2] == 1
    if grey:
        array = array[:, :, 0]
    if like.kind == "pil":
        from PIL import Image as PILImage
        return PILImage.fromarray(array)
    if like.kind == "pyvips":
        import pyvips
        result = pyvips.Image.new_from_array(array * np.float32(255) if array.dtype.kind == "f" else array)
        sixteen = array.dtype == np.uint16
        return result.copy(interpretation=("grey16" if sixteen else "b-w") if grey else ("rgb16" if sixteen else "srgb"))
    return array
