#!/usr/bin/env bash
# The wheel as a user on another machine gets it: installed by pip into a fresh venv (pip checks
# its manylinux tag against this system), imported from outside the repository, its libfcs and
# grafted libraries (OpenBLAS…) loaded from the package rather than the system, and one
# inpainting run on the tiny model.
set -euo pipefail
cd "$(dirname "$0")/../.."
WHEEL=$(realpath "${1:?usage: bindings/python/test_wheel.sh dist/fcs-VERSION-…-manylinux….whl}")
case "$(basename "$WHEEL")" in *manylinux*) ;; *) echo "FAIL: $WHEEL has no manylinux tag" >&2; exit 1 ;; esac
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python3 -m venv "$T/venv"
"$T/venv/bin/pip" install -q "$WHEEL"
cd "$T"
"$T/venv/bin/python" - "$OLDPWD/Tests/FCSModelsTests/Fixtures/tiny-sd" "$OLDPWD/Include/fcs.h" <<'PY'
import re, subprocess, sys
from importlib.metadata import version
from pathlib import Path
import numpy as np
import fcs
package = Path(fcs.__file__).parent
assert Path(fcs._lib._name).parent == package, fcs._lib._name  # the bundled libfcs, not FCS_LIBRARY's
header = Path(sys.argv[2]).read_text()
expected = ".".join(re.search(rf"#define FCS_VERSION_{p} (\d+)", header).group(1) for p in ("MAJOR", "MINOR", "PATCH"))
assert fcs.__version__ == version("fcs") == expected, (fcs.__version__, version("fcs"), expected)
needed = subprocess.run(["ldd", str(package / "libfcs.so.0")], capture_output=True, text=True, check=True).stdout
blas = [line for line in needed.splitlines() if "openblas" in line]
assert blas and all("fcs.libs" in line for line in blas), needed  # grafted by auditwheel
image = np.zeros((48, 64, 3), np.uint8)
mask = np.zeros((48, 64), bool)
mask[8:32, 24:40] = True
with fcs.Model(sys.argv[1]) as model:
    out = model.inpaint(image, mask, steps=2, newton_steps=1, seed=1)
assert out.shape == image.shape and out.dtype == np.uint8
print(f"bindings/python: wheel {fcs.__version__} installs and runs from {package}")
PY
