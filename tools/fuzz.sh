#!/usr/bin/env bash
# Runs one libFuzzer harness of Fuzz/Harnesses for a while, building the harnesses first (the
# first build compiles the package in release with ASan; later ones are incremental).
#   tools/fuzz.sh NAME SECONDS [libFuzzer flags…]   NAME: safetensors model-folder single-file single-file-config noise-file c-abi
#   tools/fuzz.sh build                             only build
# Seeds come from Fuzz/Corpus/NAME and the reproducers in Fuzz/Regressions/NAME (so a bug that
# comes back fails at once); what the fuzzer learns stays in Fuzz/Harnesses/.build/fuzz/NAME.
# KEEP_GOING=1 runs in libFuzzer's fork mode, which records crashes and carries on.
# Prints executions, executions per second and crashes; exits 1 if there was a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGE=Fuzz/Harnesses
JOBS=${JOBS:-2}

# swiftc keeps only the last -sanitize= it is given, and SwiftPM passes one per --sanitize in no
# fixed order, so the Swift code gets both in one flag. The C targets get ASan and coverage but
# not libFuzzer's comparison tracing: it calls into the fuzzer from the kernels' target_clones
# resolvers, which run while libfcs is being relocated.
# In an existing build folder SwiftPM keeps the root package's cached source lists, so files
# added to it since ("cannot find … in scope", "missing inputs"): drop them, it rebuilds them.
find "$PACKAGE/.build" -path "*.build/sources" -delete 2> /dev/null || true
# Nor does it see files added to a dependency's targets (the root package's, here) until it
# plans the build again: drop the plan too (llbuild's database keeps the build incremental).
rm -f "$PACKAGE/.build/release.yaml"
swift build -c release -j "$JOBS" --package-path "$PACKAGE" --sanitize fuzzer --sanitize address \
    -Xswiftc -sanitize=fuzzer,address -Xcc -fno-sanitize-coverage=trace-cmp 2>&1 | { grep -vE "^warning: prohibited flag|Cannot export local symbol '__asan_extra_spill_area'" >&2 || true; }
BIN=$PACKAGE/.build/release

NAME=${1:?usage: tools/fuzz.sh NAME SECONDS [libFuzzer flags…] | tools/fuzz.sh build}
[ "$NAME" = build ] && exit 0
SECONDS_BUDGET=${2:?usage: tools/fuzz.sh NAME SECONDS}
shift 2
case $NAME in
    safetensors) HARNESS=FuzzSafeTensors ;;
    model-folder) HARNESS=FuzzModelFolder ;;
    single-file) HARNESS=FuzzSingleFile ;;
    single-file-config) HARNESS=FuzzSingleFileConfig ;;
    noise-file) HARNESS=FuzzNoiseFile ;;
    c-abi) HARNESS=FuzzCABI ;;
    *) echo "tools/fuzz.sh: no harness $NAME (safetensors model-folder single-file single-file-config noise-file c-abi)" >&2; exit 2 ;;
esac

WORK=$PACKAGE/.build/fuzz/$NAME
mkdir -p "$WORK/corpus" "$WORK/artifacts"
# harness scratch files (model folders, noise files) in memory; a crashed harness leaves its own
SCRATCH=$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo /tmp )/fcs-fuzz.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
seeds=()
for dir in Fuzz/Corpus/"$NAME" Fuzz/Regressions/"$NAME"; do [ -d "$dir" ] && seeds+=("$dir"); done
flags=(-max_total_time="$SECONDS_BUDGET" -print_final_stats=1 -timeout=30 -artifact_prefix="$WORK/artifacts/")
[ -f Fuzz/Dictionaries/"$NAME".dict ] && flags+=(-dict=Fuzz/Dictionaries/"$NAME".dict)
[ "${KEEP_GOING:-0}" = 1 ] && flags+=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
# crash-, leak-, oom- and timeout- inputs written by this run (an input that crashed before is
# written again under the same name); slow-unit- ones are only slow
touch "$WORK/started"
findings() { find "$WORK/artifacts" -type f ! -name 'slow-unit-*' -newer "$WORK/started" | wc -l; }

# libFuzzer, not Swift's backtracer, handles traps, so that the input is saved. No allocation
# stacks by default: recording them costs a third of the loaders' time (rerun an input with
# ASAN_OPTIONS=detect_leaks=1 to see them).
set +e
SWIFT_BACKTRACE=enable=no TMPDIR=$SCRATCH ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:malloc_context_size=0} \
    "$BIN/$HARNESS" "${flags[@]}" "$@" "$WORK/corpus" ${seeds[@]+"${seeds[@]}"} > "$WORK/log" 2>&1
status=$?
set -e

crashes=$(findings)
executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$WORK/log" | tail -1)
if [ -z "$executions" ]; then  # stopped by a crash, or fork mode: the last status line
    executions=$({ grep -oE '^#[0-9]+' "$WORK/log" || true; } | tail -1 | tr -d '#')
    rate=$({ grep -oE 'exec/s: [0-9]+' "$WORK/log" || true; } | tail -1 | grep -oE '[0-9]+' || true)
fi
if [ "$status" -ne 0 ] || [ "$crashes" -gt 0 ]; then
    grep -vE '^#[0-9]+|^\s+NEW_FUNC' "$WORK/log" | tail -60
    find "$WORK/artifacts" -type f ! -name 'slow-unit-*' -newer "$WORK/started" | sed "s|^|crash input: |"
fi
echo "fuzz $NAME: ${executions:-0} executions in ${SECONDS_BUDGET} s (${rate:-0}/s), $crashes crash(es)"
[ "$status" -eq 0 ] && [ "$crashes" -eq 0 ]
