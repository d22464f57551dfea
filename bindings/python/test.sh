#!/usr/bin/env bash
# Installs the package the way a user does (pip install ./bindings/python: builds libfcs and
# bundles it) into a test venv, runs the pytest suite, and checks that FCS_LIBRARY can point
# at another libfcs (here the staged install's).
set -euo pipefail
cd "$(dirname "$0")/../.."
STAGE=$(realpath "${1:?usage: bindings/python/test.sh STAGE_DIR}")
VENV=.venv-test
[ -x $VENV/bin/python ] || python3 -m venv $VENV
$VENV/bin/pip install -q numpy pillow pyvips pytest tqdm
$VENV/bin/pip install -q ./bindings/python
LIBDIR=$STAGE$(pkg-config --variable=libdir vips)
export FCS_VIPS_PLUGIN=$LIBDIR/vips-modules-$(pkg-config --modversion vips | cut -d. -f1,2)/fcs-vips.so
(cd /tmp && "$OLDPWD/$VENV/bin/python" -m pytest -q "$OLDPWD/bindings/python/tests")
FCS_LIBRARY=$LIBDIR/libfcs.so.0 \
    $VENV/bin/python -c 'import fcs, os; assert fcs._lib._name == os.environ["FCS_LIBRARY"]; print("bindings/python: FCS_LIBRARY", fcs.__version__)'
$VENV/bin/python -m py_compile bindings/python/examples/*.py
