#!/usr/bin/env bash
# The fcs command end to end, on the tiny random model: inpaint / super-resolve / deblur / colorize / extract-layers on image
# files, --json, exit codes and one-line errors, results written whole or not at all, Ctrl-C,
# and `fcs fetch` against a local stand-in for the Hugging Face hub (tools/fake_hub.py): an
# interrupted download resumes, a corrupted file is caught by its checksum, a hostile hub
# cannot make it write outside the cache, no network is one clear line, and the default model
# is fetched on first use.
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
[ -z "$(grep -o 'step [0-9]*/[0-9]*' "$T/progress" | uniq -d)" ] || fail "a step shown more than once: $(cat "$T/progress")"
[ "$(size "$T/out.png")" = 64x48 ] || fail "inpaint size"
"$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/again.png" --model "$MODEL" "${quick[@]}" --seed 1 --json > "$T/json" 2> /dev/null
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["task"] == "inpaint" and d["seed"] == 1, d' "$T/json"
cmp -s "$T/out.png" "$T/again.png" || fail "same seed, different output"
"$FCS" super-resolve "$T/in.png" --scale 2 -o "$T/x2.jpg" --model "$MODEL" "${quick[@]}" 2> /dev/null > /dev/null
[ "$(size "$T/x2.jpg")" = 128x96 ] || fail "superres size"
"$FCS" super-resolve "$T/in.png" --scale 2 -o "$T/x2t.png" --model "$MODEL" --transport-vae "$PWD/Tests/FCSModelsTests/Fixtures/tiny-taesd" \
    "${quick[@]}" --seed 1 2> /dev/null > /dev/null
"$FCS" super-resolve "$T/in.png" --scale 2 -o "$T/x2v.png" --model "$MODEL" "${quick[@]}" --seed 1 2> /dev/null > /dev/null
[ "$(size "$T/x2t.png")" = 128x96 ] && ! cmp -s "$T/x2t.png" "$T/x2v.png" || fail "superres with --transport-vae"
# deblurring (Gaussian and a kernel file) and colourisation: the image's size; a grey input gives colour
"$FCS" deblur "$T/in.png" --sigma 1.5 -o "$T/sharp.png" --model "$MODEL" "${quick[@]}" > /dev/null 2>&1
[ "$(size "$T/sharp.png")" = 64x48 ] || fail "deblur --sigma"
vips black "$T/kernel.v" 5 1 && vips linear "$T/kernel.v" "$T/kernel.png" 1 255 --uchar
"$FCS" deblur "$T/in.png" --kernel "$T/kernel.png" -o "$T/sharpk.png" --model "$MODEL" "${quick[@]}" > /dev/null 2>&1
[ "$(size "$T/sharpk.png")" = 64x48 ] || fail "deblur --kernel"
vips colourspace "$T/in.png" "$T/grey.png" b-w
"$FCS" colorize "$T/grey.png" -o "$T/colour.png" --model "$MODEL" "${quick[@]}" > /dev/null 2>&1
[ "$(size "$T/colour.png")" = 64x48 ] && [ "$(vipsheader -f bands "$T/colour.png")" = 3 ] || fail "colorize: a colour image"
# its luminance is the grey input's (within the rounding of each channel to 8 bits)
printf '3 1\n0.299 0.587 0.114\n' > "$T/luma.mat"  # Rec. 601, as fcs converts (vips's b-w goes through CIE Y)
vips recomb "$T/colour.png" "$T/back.v" "$T/luma.mat" && vips subtract "$T/back.v" "$T/grey.png" "$T/diff.v" && vips abs "$T/diff.v" "$T/absdiff.v"
[ "$(vips max "$T/absdiff.v" | cut -d. -f1)" -le 2 ] || fail "colorize: the luminance changed by $(vips max "$T/absdiff.v")"
"$FCS" extract-layers "$T/in.png" -o "$T/split" --model "$MODEL" --steps 1 --newton-steps 1 --iterations 1 --samples-per-layer 1 --restarts 1 > /dev/null 2>&1
for part in layer1 layer2 mask; do [ -f "$T/split-$part.png" ] || fail "no $part"; done

# the outer samplers
for sampler in dpm++2m lcm; do
    "$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/$sampler.png" --model "$MODEL" --sampler "$sampler" --steps 3 --newton-steps 1 > /dev/null 2>&1
    [ "$(size "$T/$sampler.png")" = 64x48 ] || fail "inpainting with --sampler $sampler"
done
# LoRAs: scale 0 is the base model, a scale changes the output, a bad file is one line naming it
LORA=$PWD/Tests/FCSModelsTests/Fixtures/tiny-lora
"$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/lora0.png" --model "$MODEL" "${quick[@]}" --seed 1 \
    --lora-paths "$LORA/kohya.safetensors,$LORA/peft.safetensors" --lora-scales 0,0 > /dev/null 2>&1
cmp -s "$T/out.png" "$T/lora0.png" || fail "LoRAs at scale 0 changed the output"
"$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/lora.png" --model "$MODEL" "${quick[@]}" --seed 1 \
    --lora-paths "$LORA/kohya.safetensors,$LORA/peft.safetensors" --lora-scales 1.3,1 > /dev/null 2>&1
! cmp -s "$T/out.png" "$T/lora.png" || fail "LoRAs did not change the output"
set +e
"$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/x.png" --model "$MODEL" --lora-paths "$LORA/reference.safetensors" 2> "$T/err"; status=$?
set -e
[ $status = 1 ] && [ "$(wc -l < "$T/err")" = 1 ] && grep -q "reference.safetensors: key .* is no LoRA key" "$T/err" \
    || fail "bad LoRA: status $status, $(cat "$T/err")"
# a single-file SD 2.x checkpoint: with --config-folder it loads; without, its tiny widths are no known family's
SD2=$PWD/Tests/FCSModelsTests/Fixtures/tiny-sd2
"$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/sd2.png" --model "$SD2/tiny-sd2.safetensors" --config-folder "$SD2" "${quick[@]}" > /dev/null 2>&1
[ "$(size "$T/sd2.png")" = 64x48 ] || fail "inpainting with a single file and --config-folder"
set +e
"$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/x.png" --model "$SD2/tiny-sd2.safetensors" 2> "$T/err"; status=$?
set -e
[ $status = 1 ] && [ "$(wc -l < "$T/err")" = 1 ] && grep -q "tiny-sd2.safetensors: .*config folder" "$T/err" \
    || fail "single file without configs: status $status, $(cat "$T/err")"

# the demo model compiled into fcs
"$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/demo.png" --model demo --steps 1 --newton-steps 1 --seed 1 > /dev/null 2>&1
[ "$(size "$T/demo.png")" = 64x48 ] || fail "demo model inpainting"
# the compute precision: bf16 runs and changes the pixels; the default (auto) is bf16 on a CPU
# with AVX512_BF16, fp32 elsewhere
"$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/demo-bf16.png" --model demo --steps 1 --newton-steps 1 --seed 1 --precision bf16 > /dev/null 2>&1
"$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/demo-fp32.png" --model demo --steps 1 --newton-steps 1 --seed 1 --precision fp32 > /dev/null 2>&1
[ "$(size "$T/demo-bf16.png")" = 64x48 ] && ! cmp -s "$T/demo-fp32.png" "$T/demo-bf16.png" || fail "demo model inpainting with --precision bf16"
automatic=fp32; grep -qw avx512f /proc/cpuinfo && grep -qw avx512_bf16 /proc/cpuinfo && automatic=bf16
cmp -s "$T/demo.png" "$T/demo-$automatic.png" || fail "the default (auto) is not --precision $automatic on this CPU"
# the quick start's sample (tools/samples/README.md), shortened: the summary says where the result is
"$FCS" inpaint tools/samples/astronaut-112.jpg tools/samples/astronaut-112-mask.png -o "$T/astronaut.jpg" --model demo \
    --steps 1 --newton-steps 1 --seed 1 > "$T/said" 2> /dev/null
grep -q "inpaint: wrote $T/astronaut.jpg" "$T/said" && [ "$(size "$T/astronaut.jpg")" = 112x112 ] || fail "quick start sample: $(cat "$T/said")"

# errors: exit status and one line
expect_error() {  # EXPECTED-TEXT FCS-ARGUMENTS…: status 1 and one line on stderr that has the text
    local expected=$1 status; shift
    set +e; "$FCS" "$@" > /dev/null 2> "$T/err"; status=$?; set -e
    [ $status = 1 ] && [ "$(wc -l < "$T/err")" = 1 ] && grep -q -- "$expected" "$T/err" \
        || fail "$*: status $status, $(cat "$T/err")"
}
expect_error "nothere.png" inpaint "$T/in.png" "$T/nothere.png" -o "$T/x.png" --model "$MODEL"
expect_usage_error() {  # EXPECTED-TEXT FCS-ARGUMENTS…: status 64 (a bad argument) naming it
    local expected=$1 status; shift
    set +e; "$FCS" "$@" > /dev/null 2> "$T/err"; status=$?; set -e
    [ $status = 64 ] && grep -q -- "$expected" "$T/err" || fail "$*: status $status, $(cat "$T/err")"
}
expect_usage_error "sampler \"ddim\" is not one of paper, dpm++2m, lcm" inpaint "$T/in.png" "$T/mask.png" -o "$T/x.png" --sampler ddim
expect_usage_error "precision \"fp16\" is not one of auto, fp32, bf16" inpaint "$T/in.png" "$T/mask.png" -o "$T/x.png" --precision fp16
expect_usage_error "give one of --kernel and --sigma" deblur "$T/in.png" -o "$T/x.png" --model "$MODEL"
expect_error "constraint.sigma must be in (0, 30]" deblur "$T/in.png" --sigma 40 -o "$T/x.png" --model "$MODEL"
expect_error "constraint.kernel is 64×48; its sides must be odd" deblur "$T/in.png" --kernel "$T/in.png" -o "$T/x.png" --model "$MODEL"
expect_usage_error "scale must be 2, 4 or 8" super-resolve "$T/in.png" --scale 3 -o "$T/x.png" --model "$MODEL"
expect_usage_error "Missing expected argument '--scale <scale>'" super-resolve "$T/in.png" -o "$T/x.png" --model "$MODEL"
expect_usage_error "lora-scales has 1 values for 2 --lora-paths files" inpaint "$T/in.png" "$T/mask.png" -o "$T/x.png" --lora-paths a,b --lora-scales 1
expect_usage_error "threads must be 1 … 1024" bench ops --threads 3000000000
expect_usage_error "repeats must be 1 … 1000" bench ops --repeats 1000000000000000000
expect_usage_error "kernels avx1024: not one of avx512bf16, avx512, avx2, baseline" bench winograd --kernels avx1024
expect_usage_error "latent-sizes must be multiples of 8" bench models --latent-sizes 12
# a bad --peer file fails before any timing (the table and goals are FCSCommandTests' PeerComparisonTests)
expect_error "$T/nothere.json: cannot open" bench models --peer "$T/nothere.json"
echo '{"cpu": "x", "flags": {}, "torch": "2", "threads": 2, "variants": ["fp32"], "rows": {"VAE decode 512x512": {"fp32": -1}}}' > "$T/peer.json"
expect_error "$T/peer.json: rows: \"VAE decode 512x512\": \"fp32\": -1.0 is no time in seconds" bench models --peer "$T/peer.json"
expect_usage_error "steps must be 1 … 1000" bench sample --steps 9223372036854775807
expect_usage_error "layer-settings takes three numbers from 1 to 100" bench sample --task layers --layer-settings 4611686018427387904 2 2
# a small file whose header claims 40000×40000 pixels is refused before it is decoded
python3 -c 'import struct, sys, zlib
def chunk(kind, data): return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
sys.stdout.buffer.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 40000, 40000, 8, 0, 0, 0, 0))
                       + chunk(b"IDAT", zlib.compress(bytes(40001))) + chunk(b"IEND", b""))' > "$T/huge.png"
expect_error "40000×40000 pixels is more than fcs reads" super-resolve "$T/huge.png" --scale 2 -o "$T/x.png" --model "$MODEL"
# a truncated file is refused, in one line
head -c 3000 "$T/in.png" > "$T/cut.png"
expect_error "cut.png: .*read error" super-resolve "$T/cut.png" --scale 2 -o "$T/x.png" --model "$MODEL"

# results are whole or absent: a path that cannot be written fails before sampling (one line,
# no progress) and leaves nothing; layers writes its three files all or none
mkdir -p "$T/outs/folder.png" "$T/outs/split-mask.png" && touch "$T/outs/file"
leftovers() { find "$T/outs" -mindepth 1 -not -name folder.png -not -name split-mask.png -not -name file; }
expect_error "cannot write in $T/outs/missing" inpaint "$T/in.png" "$T/mask.png" -o "$T/outs/missing/x.png" --model "$MODEL" "${quick[@]}"
expect_error "a folder is in the way" super-resolve "$T/in.png" --scale 2 -o "$T/outs/folder.png" --model "$MODEL" "${quick[@]}"
expect_error "cannot write in $T/outs/file: not a folder" inpaint "$T/in.png" "$T/mask.png" -o "$T/outs/file/x.png" --model "$MODEL" "${quick[@]}"
expect_error "split-mask.png: a folder is in the way" extract-layers "$T/in.png" -o "$T/outs/split" --model "$MODEL" --steps 1 --newton-steps 1 --iterations 1 --samples-per-layer 1 --restarts 1
[ -z "$(leftovers)" ] || fail "an unwritable output left files: $(leftovers)"
# a folder that appears in the way while layers samples: none of the three stays
: > "$T/late.err"  # made empty before the run starts: the wait below must see this run's progress
"$FCS" extract-layers "$T/in.png" -o "$T/outs/late" --model "$MODEL" --steps 2 --newton-steps 1 --iterations 4 --samples-per-layer 1 --restarts 1 \
    > /dev/null 2> "$T/late.err" & RUN=$!
until grep -q "step" "$T/late.err" || ! kill -0 $RUN 2> /dev/null; do sleep 0.05; done
kill -STOP $RUN 2> /dev/null || fail "layers ended before the folder could be put in the way"
mkdir "$T/outs/late-mask.png"; kill -CONT $RUN
set +e; wait $RUN; status=$?; set -e
[ $status = 1 ] && tail -1 "$T/late.err" | grep -q "late-mask.png: a folder is in the way" || fail "late folder: status $status, $(tail -1 "$T/late.err")"
rmdir "$T/outs/late-mask.png"
[ -z "$(leftovers)" ] || fail "layers left part of its results: $(leftovers)"
# libvips save options in the name, and the file mode of a file made by open()
"$FCS" super-resolve "$T/in.png" --scale 2 -o "$T/q.jpg[Q=50]" --model "$MODEL" "${quick[@]}" > /dev/null 2>&1
[ "$(size "$T/q.jpg")" = 128x96 ] || fail "save options in the output name"
[ "$(stat -c %a "$T/q.jpg")" = "$(printf %o $((0666 & ~0$(umask))))" ] || fail "output mode $(stat -c %a "$T/q.jpg")"

# Ctrl-C while sampling: fcs stops at its next check, says so in one line, exits 130 and
# leaves no file (set -m: the background job gets SIGINT as from a terminal, not ignored;
# env --default-signal: nor ignored because this script was itself started with SIGINT ignored,
# as a background job of a non-interactive shell is, which set -m does not undo)
: > "$T/stopped.err"
set -m
env --default-signal=INT "$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/outs/stopped.png" --model "$MODEL" --steps 1000 --seed 1 > /dev/null 2> "$T/stopped.err" & RUN=$!
set +m
until grep -q "step" "$T/stopped.err" || ! kill -0 $RUN 2> /dev/null; do sleep 0.05; done
kill -INT $RUN 2> /dev/null || fail "the inpainting ended before Ctrl-C: $(tail -1 "$T/stopped.err")"
for _ in $(seq 300); do kill -0 $RUN 2> /dev/null || break; sleep 0.1; done
kill -0 $RUN 2> /dev/null && { kill -KILL $RUN; fail "Ctrl-C did not stop the sampling"; }
set +e; wait $RUN; status=$?; set -e
[ $status = 130 ] && tail -1 "$T/stopped.err" | grep -q "inpaint: interrupted; nothing was written" \
    || fail "Ctrl-C: status $status, $(tail -1 "$T/stopped.err")"
[ -z "$(leftovers)" ] || fail "Ctrl-C left files: $(leftovers)"

# fetch from a local hub (tools/fake_hub.py ARGS…; stop_hub ends it)
start_hub() {
    rm -f "$T/port"
    python3 tools/fake_hub.py "$@" "$T/port" & SERVER=$!
    for _ in $(seq 50); do [ -f "$T/port" ] && break; sleep 0.1; done
    export HF_ENDPOINT=http://127.0.0.1:$(cat "$T/port")
}
stop_hub() { kill "$SERVER"; wait "$SERVER" 2> /dev/null || true; SERVER=; }
start_hub "$MODEL" fcs-test/tiny-sd --drop-after 3000
export HF_HOME=$T/hf
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
"$FCS" fetch fcs-test/tiny-sd --revision refs/pr/1 > /dev/null 2>&1 || fail "a revision with slashes"
[ "$(cat "$REPO/refs/refs/pr/1")" = 0123456789abcdef0123456789abcdef01234567 ] || fail "refs/refs/pr/1"
stop_hub

start_hub "$MODEL" fcs-test/tiny-sd --corrupt vae/diffusion_pytorch_model.fp16.safetensors
export HF_HOME=$T/hf2
! "$FCS" fetch fcs-test/tiny-sd 2> "$T/err" > /dev/null || fail "a corrupted file was accepted"
grep -q "checksum mismatch" "$T/err" || fail "corrupt: $(tail -1 "$T/err")"
stop_hub

# a hostile hub (or mirror, or HF_ENDPOINT) cannot make fetch write outside the cache: each
# run fails with one line naming the bad value, and nothing appears next to HF_HOME
outside() { find "$T/sentinel" -mindepth 1 -not -path "$T/sentinel/hf" -not -path "$T/sentinel/hf/*"; }
expect_refusal() {  # EXPECTED-TEXT FCS-ARGUMENTS…
    expect_error "$@"
    [ -z "$(outside)" ] || fail "$*: wrote outside HF_HOME: $(outside)"
}
for hostile in sha:"the commit sha" dotdot:"a path with a '..' component" absolute:"an absolute path" \
        backslash:"a name with a backslash" etag:"the server sent the ETag"; do
    rm -rf "$T/sentinel"; mkdir -p "$T/sentinel/hf"
    export HF_HOME=$T/sentinel/hf
    start_hub "$MODEL" fcs-test/tiny-sd --hostile "${hostile%%:*}" --plant "$T/sentinel"
    expect_refusal "${hostile#*:}" fetch fcs-test/tiny-sd
    stop_hub
done
# a download that claims 9 EB fails as a cut one does (the progress arithmetic does not overflow)
rm -rf "$T/sentinel"; mkdir -p "$T/sentinel/hf"
start_hub "$MODEL" fcs-test/tiny-sd --hostile length --plant "$T/sentinel"
set +e; "$FCS" fetch fcs-test/tiny-sd > /dev/null 2> "$T/err"; status=$?; set -e
[ $status = 1 ] && tail -1 "$T/err" | grep -q "again to resume" || fail "9 EB: status $status, $(tail -1 "$T/err")"
stop_hub
# a link already in the cache that leads out of it is not followed
start_hub "$MODEL" fcs-test/tiny-sd
rm -rf "$T/sentinel"; mkdir -p "$T/sentinel/elsewhere" "$HF_HOME/hub/models--fcs-test--tiny-sd/snapshots"
ln -s "$T/sentinel/elsewhere" "$HF_HOME/hub/models--fcs-test--tiny-sd/snapshots/0123456789abcdef0123456789abcdef01234567"
set +e; "$FCS" fetch fcs-test/tiny-sd > /dev/null 2> "$T/err"; status=$?; set -e
[ $status = 1 ] && grep -q "outside the model's cache folder" "$T/err" || fail "a link out of the cache: status $status, $(cat "$T/err")"
[ -z "$(ls "$T/sentinel/elsewhere")" ] || fail "wrote through a link out of the cache"
stop_hub
# the names a user passes get the same checks
rm -rf "$T/sentinel"; mkdir -p "$T/sentinel/hf"
expect_refusal "is not a hub model name" fetch ../tiny-sd
expect_refusal "is not a hub model name" fetch fcs--test/tiny-sd
expect_refusal "is not a usable revision" fetch fcs-test/tiny-sd --revision ../../../x

# the default model, fetched on first use
start_hub "$MODEL" stable-diffusion-v1-5/stable-diffusion-v1-5
export HF_HOME=$T/hf3
"$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/default.png" "${quick[@]}" > /dev/null 2> "$T/err" || fail "default model: $(tail -1 "$T/err")"
grep -q "downloading it" "$T/err" || fail "the first use did not say it downloads"
stop_hub

# no network: one line naming the alternatives
export HF_HOME=$T/empty HF_ENDPOINT=http://127.0.0.1:1
! "$FCS" inpaint "$T/in.png" "$T/mask.png" -o "$T/x.png" "${quick[@]}" 2> "$T/err" || fail "no network, yet it ran"
tail -1 "$T/err" | grep -q "cannot reach.*--model PATH.*--model demo" || fail "no network: $(tail -1 "$T/err")"
[ ! -e "$T/x.png" ] || fail "no network, yet a result was written (a silent fallback to another model?)"
echo "tools/test_cli.sh: all checks passed"
