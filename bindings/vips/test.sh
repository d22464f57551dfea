#!/usr/bin/env bash
# The vips operations through the real `vips` command, against a staged install (make stage)
# and the tiny random model of the Swift tests: the two ways to load the module without root
# (VIPSHOME pointing at a tree shaped like the system one, and `vips --plugin`), each
# operation, band formats and alpha, seeds, vips threads, a pipe between two operations, and
# errors; then progress and cancellation (the output's kill flag) through a C host of libvips.
set -euo pipefail
cd "$(dirname "$0")/../.."
STAGE=${1:?usage: bindings/vips/test.sh STAGE_DIR}
SYSTEM_LIBDIR=$(pkg-config --variable=libdir vips)
MINOR=$(pkg-config --modversion vips | cut -d. -f1,2)
PLUGIN=$STAGE$SYSTEM_LIBDIR/vips-modules-$MINOR/fcs-vips.so
export FCS_MODEL=$PWD/Tests/FCSModelsTests/Fixtures/tiny-sd
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
size() { echo "$(vipsheader -f width "$1")x$(vipsheader -f height "$1")"; }
field() { vipsheader -f "$2" "$1"; }
quick=(--steps 2 --newton-steps 1)

# inputs: a 64×48 gradient, a rectangle mask, RGBA / 16-bit / grey variants
vips black "$T/black.v" 64 48 && vips draw_rect "$T/black.v" 255 20 10 24 20 --fill && vips copy "$T/black.v" "$T/mask.png"
vips xyz "$T/xy.v" 64 48 && vips bandjoin "$T/xy.v $T/xy.v" "$T/xy4.v" && vips extract_band "$T/xy4.v" "$T/rgb.v" 0 --n 3
vips linear "$T/rgb.v" "$T/in.png" 3 10 --uchar
vips bandjoin_const "$T/in.png" "$T/rgba.png" 200
vips cast "$T/in.png" "$T/u16.v" ushort && vips linear "$T/u16.v" "$T/u16s.v" 257 0 && vips cast "$T/u16s.v" "$T/in16.v" ushort
vips copy "$T/in16.v" "$T/in16.png" --interpretation rgb16
vips colourspace "$T/in.png" "$T/grey.png" b-w

# 1. VIPSHOME: a tree shaped like /usr/lib, with Debian's own modules linked in (pitfall P7)
mkdir -p "$T/home/$(basename "$SYSTEM_LIBDIR")/vips-modules-$MINOR"
cp "$PLUGIN" "$T/home/$(basename "$SYSTEM_LIBDIR")/vips-modules-$MINOR/"
for f in "$SYSTEM_LIBDIR/vips-modules-$MINOR"/*.so; do [ -e "$f" ] && ln -s "$f" "$T/home/$(basename "$SYSTEM_LIBDIR")/vips-modules-$MINOR/"; done
cp -P "$STAGE$SYSTEM_LIBDIR"/libfcs.so* "$T/home/$(basename "$SYSTEM_LIBDIR")/"
export VIPSHOME=$T/home
vips -l operation | grep -q "fcs_inpaint" || fail "VIPSHOME: fcs_inpaint not listed"
vips -l operation | grep -q "fcs_super_resolve" || fail "VIPSHOME: fcs_super_resolve not listed"
vips fcs_inpaint "$T/in.png" "$T/mask.png" "$T/out.png" "${quick[@]}" --seed 1
[ "$(size "$T/out.png")" = 64x48 ] || fail "inpaint size $(size "$T/out.png")"
[ "$(field "$T/out.png" bands)" = 3 ] || fail "inpaint bands"
[ "$(vips getpoint "$T/out.png" 2 40)" = "$(vips getpoint "$T/in.png" 2 40)" ] || fail "known pixel changed"
vips fcs_inpaint "$T/in.png" "$T/mask.png" "$T/again.png" "${quick[@]}" --seed 1
cmp -s "$T/out.png" "$T/again.png" || fail "same seed, different pixels"
vips fcs_inpaint "$T/in.png" "$T/mask.png" "$T/other.png" "${quick[@]}" --seed 2
! cmp -s "$T/out.png" "$T/other.png" || fail "different seeds, same pixels"
# vips's worker threads (which materialise the input here) do not change the pixels
vips resize "$T/in.png" "$T/big.png" 4 && vips resize "$T/mask.png" "$T/bigmask.png" 4 --kernel nearest
VIPS_CONCURRENCY=1 vips fcs_inpaint "$T/big.png" "$T/bigmask.png" "$T/c1.png" "${quick[@]}" --seed 1
VIPS_CONCURRENCY=4 vips fcs_inpaint "$T/big.png" "$T/bigmask.png" "$T/c4.png" "${quick[@]}" --seed 1
cmp -s "$T/c1.png" "$T/c4.png" || fail "VIPS_CONCURRENCY=1 and 4 give different pixels"
# a single-file SD 2.x checkpoint with the configs of config_folder
SD2=$PWD/Tests/FCSModelsTests/Fixtures/tiny-sd2
vips fcs_inpaint "$T/in.png" "$T/mask.png" "$T/sd2.png" --model "$SD2/tiny-sd2.safetensors" --config-folder "$SD2" "${quick[@]}" --seed 1
[ "$(size "$T/sd2.png")" = 64x48 ] || fail "single file with config_folder"
! vips fcs_inpaint "$T/in.png" "$T/mask.png" "$T/x.png" --model "$SD2/tiny-sd2.safetensors" "${quick[@]}" 2> "$T/err" \
    && grep -q "config folder" "$T/err" || fail "single file without configs: $(cat "$T/err")"

# formats: alpha kept, 16-bit stays 16-bit, grey stays grey
vips fcs_inpaint "$T/rgba.png" "$T/mask.png" "$T/rgba-out.png" "${quick[@]}" --seed 1
[ "$(field "$T/rgba-out.png" bands)" = 4 ] || fail "RGBA lost its alpha"
[ "$(vips getpoint "$T/rgba-out.png" 30 20 | awk '{print $4}')" = 200 ] || fail "alpha changed"
vips fcs_inpaint "$T/in16.png" "$T/mask.png" "$T/out16.png" "${quick[@]}" --seed 1
vipsheader "$T/out16.png" | grep -q "ushort, 3 bands, rgb16" || fail "16-bit became $(vipsheader "$T/out16.png")"
vips cast "$T/in.png" "$T/float.v" float
vips fcs_inpaint "$T/float.v" "$T/mask.png" "$T/float-out.v" "${quick[@]}" --seed 1
vipsheader "$T/float-out.v" | grep -q "float, 3 bands, srgb" || fail "float became $(vipsheader "$T/float-out.v")"
[ "$(vips getpoint "$T/float-out.v" 2 40)" = "$(vips getpoint "$T/float.v" 2 40)" ] || fail "float: known pixel changed (0…255 scale kept?)"
vips fcs_inpaint "$T/grey.png" "$T/mask.png" "$T/grey-out.png" "${quick[@]}" --seed 1
[ "$(field "$T/grey-out.png" bands)" = 1 ] || fail "grey became $(field "$T/grey-out.png" bands) bands"

# inpainting's own arguments: paste_back 0 lets the known pixels change, learning rates are read
vips fcs_inpaint "$T/in.png" "$T/mask.png" "$T/free.png" "${quick[@]}" --seed 1 --paste-back 0
[ "$(vips getpoint "$T/free.png" 2 40)" != "$(vips getpoint "$T/in.png" 2 40)" ] || fail "--paste-back 0 kept the known pixels"
vips fcs_inpaint "$T/in.png" "$T/mask.png" "$T/rates.png" "${quick[@]}" --seed 1 --learning-rates 0.2
! cmp -s "$T/out.png" "$T/rates.png" || fail "--learning-rates 0.2 gave the default's pixels"

# super-resolution and layers, and a pipe from one operation into the next
vips fcs_super_resolve "$T/in.png" "$T/x2.png" 2 "${quick[@]}" --seed 1
[ "$(size "$T/x2.png")" = 128x96 ] || fail "super_resolve size $(size "$T/x2.png")"
# deblurring (sigma, or a kernel image) and colourisation (grey in, colour out)
vips fcs_deblur "$T/in.png" "$T/sharp.png" --sigma 1.5 "${quick[@]}" --seed 1
[ "$(size "$T/sharp.png") $(field "$T/sharp.png" bands)" = "64x48 3" ] || fail "deblur"
vips black "$T/kernel.v" 5 1 && vips linear "$T/kernel.v" "$T/kernel.png" 1 255 --uchar
vips fcs_deblur "$T/in.png" "$T/sharpk.png" --kernel "$T/kernel.png" "${quick[@]}" --seed 1
! cmp -s "$T/sharp.png" "$T/sharpk.png" || fail "deblur --kernel gave the --sigma result"
vips fcs_colorize "$T/grey.png" "$T/colour.png" "${quick[@]}" --seed 1
vipsheader "$T/colour.png" | grep -q "64x48 uchar, 3 bands, srgb" || fail "colorize gave $(vipsheader "$T/colour.png")"
vips fcs_extract_layers "$T/in.png" "$T/l1.png" "$T/l2.png" "$T/m.png" --steps 1 --newton-steps 1 --iterations 1 --samples-per-layer 1 \
    --restarts 1 --block-size 16 --seed 3
[ "$(size "$T/l1.png") $(size "$T/l2.png") $(size "$T/m.png") $(field "$T/m.png" bands)" = "64x48 64x48 64x48 1" ] || fail "layers"
vips extract_area "$T/in.png" .png 0 0 32 24 | vips fcs_super_resolve stdin "$T/piped.png" 2 "${quick[@]}" --seed 1
[ "$(size "$T/piped.png")" = 64x48 ] || fail "piped super_resolve size"

# the outer samplers
vips fcs_inpaint "$T/in.png" "$T/mask.png" "$T/dpm.png" --sampler dpm++2m --steps 3 --newton-steps 1 --seed 1
! cmp -s "$T/out.png" "$T/dpm.png" || fail "--sampler dpm++2m gave the paper's pixels"
vips fcs_super_resolve "$T/in.png" "$T/lcm.png" 2 --sampler lcm "${quick[@]}" --seed 1
[ "$(size "$T/lcm.png")" = 128x96 ] || fail "super_resolve with --sampler lcm"
# the compute precision: auto is bf16's pixels on a CPU with AVX512_BF16, fp32's elsewhere, and
# the two differ (a model loaded per precision)
vips fcs_inpaint "$T/in.png" "$T/mask.png" "$T/fp32.png" "${quick[@]}" --seed 1 --precision fp32
vips fcs_inpaint "$T/in.png" "$T/mask.png" "$T/bf16.png" "${quick[@]}" --seed 1 --precision bf16
! cmp -s "$T/fp32.png" "$T/bf16.png" || fail "--precision bf16 gave fp32's pixels"
automatic=fp32; grep -qw avx512f /proc/cpuinfo && grep -qw avx512_bf16 /proc/cpuinfo && automatic=bf16
cmp -s "$T/out.png" "$T/$automatic.png" || fail "the default (auto) is not --precision $automatic on this CPU"
# LoRAs: --lora-paths A,B --lora-scales 0.8,1 (scale 0 is the base model); a file that is no LoRA is named
LORA=$PWD/Tests/FCSModelsTests/Fixtures/tiny-lora
vips fcs_inpaint "$T/in.png" "$T/mask.png" "$T/lora0.png" "${quick[@]}" --seed 1 --lora-paths "$LORA/kohya.safetensors,$LORA/peft.safetensors" --lora-scales 0,0
cmp -s "$T/out.png" "$T/lora0.png" || fail "LoRAs at scale 0 changed the pixels"
vips fcs_inpaint "$T/in.png" "$T/mask.png" "$T/lora.png" "${quick[@]}" --seed 1 --lora-paths "$LORA/kohya.safetensors,$LORA/peft.safetensors" --lora-scales 1.3,1
! cmp -s "$T/out.png" "$T/lora.png" || fail "LoRAs did not change the pixels"
! vips fcs_inpaint "$T/in.png" "$T/mask.png" "$T/x.png" --lora-paths "$LORA/reference.safetensors" 2> "$T/err" || fail "bad LoRA accepted"
grep -q "reference.safetensors: key .* is no LoRA key" "$T/err" || fail "LoRA error: $(cat "$T/err")"

# errors: one clear line, non-zero exit
! vips fcs_inpaint "$T/in.png" "$T/mask.png" "$T/x.png" --sampler ddim 2> "$T/err" || fail "sampler ddim accepted"
grep -q "enum 'FcsSampler' has no member 'ddim', should be one of: paper, dpm++2m, lcm" "$T/err" || fail "sampler error: $(cat "$T/err")"
! vips fcs_super_resolve "$T/in.png" "$T/x.png" 2 --precision fp16 2> "$T/err" || fail "precision fp16 accepted"
grep -q "enum 'FcsPrecision' has no member 'fp16', should be one of: auto, fp32, bf16" "$T/err" || fail "precision error: $(cat "$T/err")"
! vips fcs_super_resolve "$T/in.png" "$T/x3.png" 3 "${quick[@]}" 2> "$T/err" || fail "scale 3 accepted"
grep -q "scale must be 2, 4 or 8" "$T/err" || fail "scale error: $(cat "$T/err")"
! vips fcs_deblur "$T/in.png" "$T/x.png" --kernel "$T/in.png" 2> "$T/err" || fail "an even kernel accepted"
grep -q "constraint.kernel is 64×48; its sides must be odd" "$T/err" || fail "kernel error: $(cat "$T/err")"
! vips fcs_inpaint "$T/in.png" "$T/mask.png" "$T/x.png" --weight-type fp16 2> "$T/err" || fail "weight_type fp16 accepted"
grep -q "enum 'FcsWeightType' has no member 'fp16', should be one of: f32, f16" "$T/err" || fail "weight_type error: $(cat "$T/err")"
! vips fcs_inpaint "$T/in.png" "$T/mask.png" "$T/x.png" --learning-rates 0.5,x 2> "$T/err" || fail "learning rates 0.5,x accepted"
grep -q 'learning_rates must be numbers separated by commas' "$T/err" || fail "learning_rates error: $(cat "$T/err")"
! FCS_MODEL=/nonexistent vips fcs_inpaint "$T/in.png" "$T/mask.png" "$T/x.png" 2> "$T/err" || fail "missing model accepted"
grep -q "/nonexistent" "$T/err" || fail "model error: $(cat "$T/err")"
vips black "$T/small.png" 32 32
! vips fcs_inpaint "$T/in.png" "$T/small.png" "$T/x.png" 2> "$T/err" || fail "mask of another size accepted"
# the operations sample while they are built, before a saver opens the output: a failed one leaves none
[ ! -e "$T/x.png" ] && [ ! -e "$T/x3.png" ] || fail "a failed operation left an output file"
unset VIPSHOME

# 2. vips --plugin FILE, no environment but the model
vips --plugin "$PLUGIN" fcs_inpaint "$T/in.png" "$T/mask.png" "$T/plugin.png" "${quick[@]}" --seed 1
cmp -s "$T/out.png" "$T/plugin.png" || fail "--plugin result differs from the VIPSHOME one"
# ... and straight from the build folder, where libfcs.so.0 lies beside the plugin ($ORIGIN);
# `vips list classes` lists what a plugin adds (`vips -l` runs before --plugin is loaded)
vips --plugin .build-release/lib/fcs-vips.so list classes > "$T/classes" 2> "$T/err" || fail "--plugin from the build folder: $(cat "$T/err")"
for op in fcs_inpaint fcs_super_resolve fcs_deblur fcs_colorize fcs_extract_layers; do grep -q "($op)" "$T/classes" || fail "$op is not listed"; done

# 3. progress and cancellation in a C host (bindings/vips/test_cancel.c), which is sent SIGINT
#    about a second into a long inpainting and sets the output's kill flag from another thread
${CC:-cc} -std=c11 -Wall -Wextra -Werror -pthread bindings/vips/test_cancel.c $(pkg-config --cflags --libs vips gmodule-2.0) \
    -o "$T/test_cancel"
"$T/test_cancel" "$PLUGIN" "$FCS_MODEL" "$T/in.png" "$T/mask.png" > "$T/cancel.log" &
host=$!
for _ in $(seq 300); do grep -q '^sampling' "$T/cancel.log" && break; kill -0 $host 2> /dev/null || break; sleep 0.1; done
sleep 1
kill -INT $host 2> /dev/null || true
wait $host || { cat "$T/cancel.log"; fail "test_cancel"; }
sed -n 's/^cancelled/bindings\/vips: fcs_inpaint cancelled/p' "$T/cancel.log"
echo "bindings/vips: all checks passed"
