#!/usr/bin/env python3
"""Resizer parity fixtures: the PyPI `resize-right` package (the operator the paper's code uses),
on numpy float32 input with symmetric borders and cubic antialiasing, for the ×2/×4/×8 down- and
upscaling of super-resolution. Writes Tests/FCSImagingTests/Fixtures/resizer.safetensors.

    .venv-tools/bin/pip install resize-right==0.0.2
    .venv-tools/bin/python tools/make_resizer_fixtures.py
"""
from pathlib import Path

import numpy as np
from resize_right import interp_methods, resize
from safetensors.numpy import save_file

ROOT = Path(__file__).resolve().parent.parent


def main():
    rng = np.random.default_rng(0)
    large = rng.uniform(-1, 1, (1, 3, 64, 48)).astype(np.float32)
    small = rng.uniform(-1, 1, (1, 3, 8, 6)).astype(np.float32)
    tensors = {"large": large, "small": small}
    for f in (2, 4, 8):
        for name, x, scale in (("down", large, 1 / f), ("up", small, f)):
            out = resize(x, scale_factors=[1, 1, scale, scale], interp_method=interp_methods.cubic,
                         antialiasing=True, pad_mode="symmetric")
            tensors[f"{name}{f}"] = np.ascontiguousarray(out.astype(np.float32))
    path = ROOT / "Tests/FCSImagingTests/Fixtures/resizer.safetensors"
    save_file(tensors, str(path))
    print(path.relative_to(ROOT), {k: v.shape for k, v in tensors.items()})


if __name__ == "__main__":
    main()
