"""ctypes declarations of Include/fcs.h and the loading of libfcs.

The library bundled in the package is used unless FCS_LIBRARY names another libfcs.so.0.
ctypes releases the GIL for the duration of every call into it.
"""
import ctypes
import os
from pathlib import Path

from .errors import raise_for_status

FCS_PIXEL_U8, FCS_PIXEL_F32 = 0, 1
# The names of fcs_weight_type, fcs_file_variant and fcs_inpaint_method values, indexed by value,
# as the header's comments give them (fcs_sampler and fcs_precision have fcs_*_name functions).
WEIGHT_TYPES = ("f32", "f16")
VARIANTS = ("auto", "fp16", "fp32")
METHODS = ("constrained", "replacement")


class Image(ctypes.Structure):
    _fields_ = [("width", ctypes.c_int32), ("height", ctypes.c_int32), ("channels", ctypes.c_int32),
                ("format", ctypes.c_int), ("stride", ctypes.c_size_t), ("data", ctypes.c_void_p)]


ProgressCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int32, ctypes.c_int32, ctypes.c_void_p)
LogCallback = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)


class ModelParams(ctypes.Structure):
    _fields_ = [("weight_type", ctypes.c_int), ("variant", ctypes.c_int), ("config_folder", ctypes.c_char_p),
                ("transport_vae", ctypes.c_char_p),
                ("lora_paths", ctypes.POINTER(ctypes.c_char_p)), ("lora_scales", ctypes.POINTER(ctypes.c_float)),
                ("n_loras", ctypes.c_int32), ("precision", ctypes.c_int)]


class SampleParams(ctypes.Structure):
    _fields_ = [("seed", ctypes.c_uint64), ("steps", ctypes.c_int32), ("newton_steps", ctypes.c_int32),
                ("learning_rates", ctypes.POINTER(ctypes.c_float)), ("n_learning_rates", ctypes.c_int32),
                ("fd_step", ctypes.c_float), ("prompt", ctypes.c_char_p), ("guidance_scale", ctypes.c_float),
                ("official_timesteps", ctypes.c_int32), ("paste_back", ctypes.c_int32), ("seam_width", ctypes.c_int32),
                ("context_crop_above", ctypes.c_int32), ("context_size", ctypes.c_int32), ("method", ctypes.c_int),
                ("noise_path", ctypes.c_char_p), ("progress", ProgressCallback), ("user_data", ctypes.c_void_p),
                ("sampler", ctypes.c_int)]


class LayerParams(ctypes.Structure):
    _fields_ = [("sample", SampleParams), ("iterations", ctypes.c_int32), ("samples_per_layer", ctypes.c_int32),
                ("restarts", ctypes.c_int32), ("block_size", ctypes.c_int32), ("hint", ctypes.POINTER(Image))]


def _load():
    path = os.environ.get("FCS_LIBRARY") or str(Path(__file__).with_name("libfcs.so.0"))
    try:
        lib = ctypes.CDLL(path)
    except OSError as error:
        raise ImportError(f"fcs: cannot load libfcs from {path}: {error}") from None
    status, ptr = ctypes.c_int, ctypes.c_void_p
    signatures = {
        "fcs_version": (ctypes.c_char_p, []),
        "fcs_last_error": (ctypes.c_char_p, []),
        "fcs_set_log_callback": (None, [LogCallback, ptr]),
        "fcs_set_num_threads": (status, [ctypes.c_int32]),
        "fcs_get_num_threads": (ctypes.c_int32, []),
        "fcs_image_free": (None, [ctypes.POINTER(Image)]),
        "fcs_model_params_default": (ModelParams, []),
        "fcs_precision_name": (ctypes.c_char_p, [ctypes.c_int]),
        "fcs_precision_from_name": (status, [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]),
        "fcs_model_load": (status, [ctypes.c_char_p, ctypes.POINTER(ModelParams), ctypes.POINTER(ptr)]),
        "fcs_model_free": (None, [ptr]),
        "fcs_sample_params_default": (SampleParams, []),
        "fcs_sampler_name": (ctypes.c_char_p, [ctypes.c_int]),
        "fcs_sampler_from_name": (status, [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]),
        "fcs_layer_params_default": (LayerParams, []),
        "fcs_inpaint": (status, [ptr, ctypes.POINTER(Image), ctypes.POINTER(Image), ctypes.POINTER(SampleParams),
                                 ctypes.POINTER(Image)]),
        "fcs_super_resolve": (status, [ptr, ctypes.POINTER(Image), ctypes.c_int32, ctypes.POINTER(SampleParams),
                                       ctypes.POINTER(Image)]),
        "fcs_extract_layers": (status, [ptr, ctypes.POINTER(Image), ctypes.POINTER(LayerParams), ctypes.POINTER(Image),
                                        ctypes.POINTER(Image), ctypes.POINTER(Image)]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes
    return lib


lib = _load()


def check(status):
    """Raises the exception for a non-OK status, with this thread's fcs_last_error()."""
    if status != 0:
        raise_for_status(status, lib.fcs_last_error().decode("utf-8", "replace"))
