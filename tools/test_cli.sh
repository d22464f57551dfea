#!/usr/bin/env bash
# The fcs command end to end, on the tiny random model: inpaint / superres / layers on image
# files, --json, exit codes and one-line errors, and `fcs fetch` against a local stand-in for
# the Hugging Face hub (tools/fake_hub.py): an interrupted download resumes, a corrupted file is
# caught by its checksum, no network is one clear line, and the default model is fetched on
# first use.
set -euo pipefail
cd "$(dirname "$0")/.."
FCS=${FCS:-$PWD/.build/debug/fcs}
MODEL=$PWD/Tests/FCSModelsTests/Fixtures/tiny-sd
T=$(mktemp -d)
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2> /dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
size() { echo "$(vipsheader -f width "$1")x$(vipsheader -f height "$1")"; }
quick=(--steps 2 --newton-steps 1)

vips black "$T/black.v" 64 48 && vips draw_rect "$T/black.v" 255 20 10 24 20 --fill && vips copy "$T/black.v" "$T/mask.png"
vips xyz "$T/xy.v" 64 48 && vips bandjoin "$T/xy.v $T/xy.v" "$T/xy4.v" && vips extract_band "$T/xy4.v" "$T/rgb.v" 0 --n 3
vips linear "$T/rgb.v" "$T/in.png" 3 10 --uchar

# the three tasks
"$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/out.png" --model "$MODEL" "${quick[@]}" --seed 1 > "$T/said" 2> "$T/progress"
grep -q "inpaint: wrote $T/out.png" "$T/said" || fail "inpaint summary: $(cat "$T/said")"
grep -q "step 2/2" "$T/progress" || fail "no progress lines: $(cat "$T/progress")"
[ "$(size "$T/out.png")" = 64x48 ] || fail "inpaint size"
"$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/again.png" --model "$MODEL" "${quick[@]}" --seed 1 --json > "$T/json" 2> /dev/null
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["task"] == "inpaint" and d["seed"] == 1, d' "$T/json"
cmp -s "$T/out.png" "$T/again.png" || fail "same seed, different output"
"$FCS" superres "$T/in.png" --scale 2 -o "$T/x2.jpg" --model "$MODEL" "${quick[@]}" 2> /dev/null > /dev/null
[ "$(size "$T/x2.jpg")" = 128x96 ] || fail "superres size"
"$FCS" layers "$T/in.png" -o "$T/split" --model "$MODEL" --steps 1 --newton-steps 1 --iterations 1 --samples 1 --restarts 1 > /dev/null 2>&1
for part in layer1 layer2 mask; do [ -f "$T/split-$part.png" ] || fail "no $part"; done

# LoRAs: scale 0 is the base model, a scale changes the output, a bad file is one line naming it
LORA=$PWD/Tests/FCSModelsTests/Fixtures/tiny-lora
"$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/lora0.png" --model "$MODEL" "${quick[@]}" --seed 1 \
    --lora "$LORA/kohya.safetensors:0" --lora "$LORA/peft.safetensors:0" > /dev/null 2>&1
cmp -s "$T/out.png" "$T/lora0.png" || fail "LoRAs at scale 0 changed the output"
"$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/lora.png" --model "$MODEL" "${quick[@]}" --seed 1 \
    --lora "$LORA/kohya.safetensors:1.3" --lora "$LORA/peft.safetensors" > /dev/null 2>&1
! cmp -s "$T/out.png" "$T/lora.png" || fail "LoRAs did not change the output"
set +e
"$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/x.png" --model "$MODEL" --lora "$LORA/reference.safetensors" 2> "$T/err"; status=$?
set -e
[ $status = 1 ] && [ "$(wc -l < "$T/err")" = 1 ] && grep -q "reference.safetensors: key .* is no LoRA key" "$T/err" \
    || fail "bad LoRA: status $status, $(cat "$T/err")"

# the demo model compiled into fcs
"$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/demo.png" --model demo --steps 1 --newton-steps 1 --seed 1 > /dev/null 2>&1
[ "$(size "$T/demo.png")" = 64x48 ] || fail "demo model inpainting"

# errors: exit status and one line
set +e
"$FCS" inpaint "$T/in.png" "$T/nothere.png" -o "$T/x.png" --model "$MODEL" 2> "$T/err"; status=$?
set -e
[ $status = 1 ] && [ "$(wc -l < "$T/err")" = 1 ] && grep -q "nothere.png" "$T/err" || fail "missing mask: status $status, $(cat "$T/err")"
set +e
"$FCS" superres "$T/in.png" --scale 3 -o "$T/x.png" --model "$MODEL" 2> "$T/err"; status=$?
set -e
[ $status = 64 ] && grep -q "scale must be 2, 4 or 8" "$T/err" || fail "bad scale: status $status"

# fetch from a local hub
python3 tools/fake_hub.py "$MODEL" fcs-test/tiny-sd "$T/port" --drop-after 3000 & SERVER=$!
for _ in $(seq 50); do [ -f "$T/port" ] && break; sleep 0.1; done
export HF_HOME=$T/hf HF_ENDPOINT=http://127.0.0.1:$(cat "$T/port")
! "$FCS" fetch fcs-test/tiny-sd 2> "$T/err" > /dev/null || fail "the cut download did not fail"
grep -q "run \`fcs fetch\` again to resume" "$T/err" || fail "cut download: $(tail -1 "$T/err")"
REPO=$HF_HOME/hub/models--fcs-test--tiny-sd
ls "$REPO"/blobs/*.incomplete > /dev/null || fail "no partial blob kept"
"$FCS" fetch fcs-test/tiny-sd > /dev/null 2>&1
! ls "$REPO"/blobs/*.incomplete > /dev/null 2>&1 || fail "partial blob left behind"
[ "$(cat "$REPO/refs/main")" = 0123456789abcdef0123456789abcdef01234567 ] || fail "refs/main"
SNAPSHOT=$REPO/snapshots/$(cat "$REPO/refs/main")
cmp "$SNAPSHOT/text_encoder/model.safetensors" "$MODEL/text_encoder/model.safetensors" || fail "resumed file differs"
[ -L "$SNAPSHOT/unet/config.json" ] || fail "snapshot files must link to blobs"
"$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/hub.png" --model fcs-test/tiny-sd "${quick[@]}" --seed 1 > /dev/null 2>&1
kill $SERVER; wait $SERVER 2> /dev/null || true; rm "$T/port"

python3 tools/fake_hub.py "$MODEL" fcs-test/tiny-sd "$T/port" --corrupt vae/diffusion_pytorch_model.fp16.safetensors & SERVER=$!
for _ in $(seq 50); do [ -f "$T/port" ] && break; sleep 0.1; done
export HF_HOME=$T/hf2 HF_ENDPOINT=http://127.0.0.1:$(cat "$T/port")
! "$FCS" fetch fcs-test/tiny-sd 2> "$T/err" > /dev/null || fail "a corrupted file was accepted"
grep -q "checksum mismatch" "$T/err" || fail "corrupt: $(tail -1 "$T/err")"
kill $SERVER; wait $SERVER 2> /dev/null || true; rm "$T/port"

# the default model, fetched on first use
python3 tools/fake_hub.py "$MODEL" stable-diffusion-v1-5/stable-diffusion-v1-5 "$T/port" & SERVER=$!
for _ in $(seq 50); do [ -f "$T/port" ] && break; sleep 0.1; done
export HF_HOME=$T/hf3 HF_ENDPOINT=http://127.0.0.1:$(cat "$T/port")
"$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/default.png" "${quick[@]}" > /dev/null 2> "$T/err" || fail "default model: $(tail -1 "$T/err")"
grep -q "downloading it" "$T/err" || fail "the first use did not say it downloads"

# no network: one line naming the alternatives
export HF_HOME=$T/empty HF_ENDPOINT=http://127.0.0.1:1
! "$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/x.png" "${quick[@]}" 2> "$T/err" || fail "no network, yet it ran"
tail -1 "$T/err" | grep -q "cannot reach.*--model PATH.*--model demo" || fail "no network: $(tail -1 "$T/err")"
echo "tools/test_cli.sh: all checks passed"
