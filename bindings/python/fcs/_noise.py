"""Caller-supplied sampler noise: a safetensors file with x_T and z_0 … z_{n-1}, given as a path
or as a dict of arrays (written to a temporary file in that format)."""
import json
import os
import tempfile

import numpy as np


def noise_file(noise):
    """(path, temporary) for a path or a dict of float32 arrays."""
    if isinstance(noise, (str, os.PathLike)):
        return os.fspath(noise), False
    if not isinstance(noise, dict):
        raise TypeError("noise must be a path to a safetensors file or a dict of arrays (x_T, z_0, …)")
    arrays = {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in noise.items()}
    header, offset = {}, 0
    for name, array in arrays.items():
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    handle, path = tempfile.mkstemp(suffix=".safetensors", prefix="fcs-noise-")
    with os.fdopen(handle, "wb") as file:
        file.write(len(encoded).to_bytes(8, "little") + encoded)
        for array in arrays.values():
            file.write(array.tobytes())
    return path, True
