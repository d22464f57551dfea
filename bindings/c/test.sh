#!/usr/bin/env bash
# Builds the C programs of bindings/c against a staged install (make stage) exactly as a user
# would after `make install` — cc $(pkg-config --cflags --libs fcs) — and runs them on the
# tiny random model of the Swift tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
STAGE=${1:?usage: bindings/c/test.sh STAGE_DIR}
LIBDIR=$STAGE$(pkg-config --variable=libdir vips)
MODEL=Tests/FCSModelsTests/Fixtures/tiny-sd
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
fcs_flags() { PKG_CONFIG_PATH=$LIBDIR/pkgconfig PKG_CONFIG_SYSROOT_DIR=$STAGE pkg-config "$@" fcs; }

cc -std=c11 -Wall -Wextra -Werror -pthread bindings/c/test_abi.c $(fcs_flags --cflags --libs) \
    -Wl,-rpath,"$LIBDIR" -o "$OUT/test_abi"
"$OUT/test_abi" "$MODEL"

cc -std=c11 -Wall -Wextra -Werror bindings/c/inpaint.c $(fcs_flags --cflags --libs) $(pkg-config --cflags --libs vips) \
    -Wl,-rpath,"$LIBDIR" -o "$OUT/inpaint"
vips black "$OUT/black.v" 64 48 && vips draw_rect "$OUT/black.v" 255 20 10 24 20 --fill && vips copy "$OUT/black.v" "$OUT/mask.png"
vips xyz "$OUT/xy.v" 64 48 && vips bandjoin "$OUT/xy.v $OUT/xy.v" "$OUT/xy4.v" && vips extract_band "$OUT/xy4.v" "$OUT/rgb.v" 0 --n 3
vips linear "$OUT/rgb.v" "$OUT/in.png" 3 10 --uchar
"$OUT/inpaint" "$MODEL" "$OUT/in.png" "$OUT/mask.png" "$OUT/out.png" 2 > "$OUT/log"
grep -q "step 2/2" "$OUT/log"
[ "$(vipsheader -f width "$OUT/out.png")x$(vipsheader -f height "$OUT/out.png")" = 64x48 ]
echo "bindings/c: example inpainted $(vipsheader "$OUT/out.png")"
