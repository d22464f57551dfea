"""fcs: fast constrained sampling with Stable Diffusion 1.x and 2.x on the CPU — inpainting,
super-resolution and layer extraction, through libfcs.

    import fcs
    model = fcs.Model("path/to/stable-diffusion-v1-5")
    out = model.inpaint(image, mask, seed=0)

Keyword arguments are named as the C fields of Include/fcs.h; None means the library's default
(fcs.defaults() lists them).

With multiprocessing, use the "spawn" (or "forkserver") start method: libfcs's threads do not
survive fork().
"""
from ._library import lib as _lib
from .errors import Cancelled, FCSError, FCSFileError, FCSMemoryError, FormatError, InvalidArgumentError
from .model import Model, defaults

__version__ = _lib.fcs_version().decode()


def set_num_threads(count):
    """Threads each fcs kernel uses, process-wide (default: FCS_NUM_THREADS or all cores)."""
    from ._library import check
    check(_lib.fcs_set_num_threads(count))


def get_num_threads():
    return _lib.fcs_get_num_threads()


__all__ = ["Model", "defaults", "FCSError", "InvalidArgumentError", "FCSFileError", "FormatError", "FCSMemoryError", "Cancelled",
           "set_num_threads", "get_num_threads", "__version__"]
