"""Writes Tests/FCSModelsTests/Fixtures/interop.safetensors with the reference `safetensors`
package, so the Swift tests prove that fcs reads what PyTorch users write.

Run with the reference environment:  /work/venv-ref/bin/python tools/make_safetensors_fixture.py
SafeTensorsTests.testReadsFileWrittenByReferenceImplementation expects exactly these values.
"""
import math
from pathlib import Path

import torch
from safetensors.torch import save_file

inf, nan = math.inf, math.nan

tensors = {
    # float32 specials: largest finite, smallest subnormal, infinities, NaN, negative zero.
    "f32": torch.tensor([[1.5, -2.25, 3.4028234663852886e38, 1.401298464324817e-45],
                         [inf, nan, -0.0, 0.1]], dtype=torch.float32),
    # Rounded from float32 by PyTorch (round to nearest even): 0.1 is inexact, 65520 is the
    # tie between 65504 (largest finite) and infinity, which rounds to infinity.
    "f16": torch.tensor([1.0, -2.0, 0.1, 65504.0, 6.103515625e-05, 5.960464477539063e-08, 65520.0, nan],
                        dtype=torch.float32).half(),
    # 1 + 2^-8 and 1 + 3 * 2^-8 are ties that round to even: 1 and 1 + 2^-6.
    "bf16": torch.tensor([1.0, -1.5, 3.140625, 1.00390625, 1.01171875, 3.3895313892515355e38, -inf, 0.1],
                         dtype=torch.float32).bfloat16().reshape(2, 2, 2),
}

path = Path(__file__).resolve().parent.parent / "Tests/FCSModelsTests/Fixtures/interop.safetensors"
save_file(tensors, str(path), metadata={"format": "pt", "purpose": "fcs interop fixture"})
print(f"wrote {path} ({path.stat().st_size} bytes)")
