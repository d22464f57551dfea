#!/usr/bin/env bash
# Builds the C programs of bindings/c against a staged install (make stage) exactly as a user
# would after `make install` — cc $(pkg-config --cflags --libs fcs) — and runs them on the
# tiny random model of the Swift tests: the ABI tests, the leak check and the example.
# CC, CFLAGS and LDFLAGS come from the environment (CFLAGS and LDFLAGS are added after the
# script's own), e.g. CFLAGS=-fsanitize=address LDFLAGS=-fsanitize=address.
set -euo pipefail
cd "$(dirname "$0")/../.."
STAGE=$(realpath "${1:?usage: bindings/c/test.sh STAGE_DIR}")
LIBDIR=$STAGE$(pkg-config --variable=libdir vips)
MODEL=Tests/FCSModelsTests/Fixtures/tiny-sd
CC=${CC:-cc}
read -r -a CFLAGS_ <<< "${CFLAGS:-}"
read -r -a LDFLAGS_ <<< "${LDFLAGS:-}"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
fcs_flags() { PKG_CONFIG_PATH=$LIBDIR/pkgconfig PKG_CONFIG_SYSROOT_DIR=$STAGE pkg-config "$@" fcs; }
build() { # build OUTPUT SOURCE [pkg-config flags of other libraries]
    local output=$1 source=$2
    shift 2
    "$CC" -std=c11 -Wall -Wextra -Werror "${CFLAGS_[@]}" -pthread "$source" $(fcs_flags --cflags --libs) "$@" \
        "${LDFLAGS_[@]}" -Wl,-rpath,"$LIBDIR" -o "$OUT/$output"
}

build test_abi bindings/c/test_abi.c
"$OUT/test_abi" "$MODEL" Tests/FCSModelsTests/Fixtures/tiny-lora

build test_leaks bindings/c/test_leaks.c
"$OUT/test_leaks" "$MODEL"

build inpaint bindings/c/inpaint.c $(pkg-config --cflags --libs vips)
vips black "$OUT/black.v" 64 48 && vips draw_rect "$OUT/black.v" 255 20 10 24 20 --fill && vips copy "$OUT/black.v" "$OUT/mask.png"
vips xyz "$OUT/xy.v" 64 48 && vips bandjoin "$OUT/xy.v $OUT/xy.v" "$OUT/xy4.v" && vips extract_band "$OUT/xy4.v" "$OUT/rgb.v" 0 --n 3
vips linear "$OUT/rgb.v" "$OUT/in.png" 3 10 --uchar
"$OUT/inpaint" "$MODEL" "$OUT/in.png" "$OUT/mask.png" "$OUT/out.png" 2 > "$OUT/log"
[ "$(grep -c "^step" "$OUT/log")" = 2 ] && grep -q "step 2/2" "$OUT/log" || { cat "$OUT/log"; exit 1; }
[ "$(vipsheader -f width "$OUT/out.png")x$(vipsheader -f height "$OUT/out.png")" = 64x48 ]
echo "bindings/c: example inpainted $(vipsheader "$OUT/out.png")"
