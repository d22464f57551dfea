#!/usr/bin/env bash
# The C ABI cannot drift from Include/fcs.h:
#  1. types — the header Swift generates for the @c functions (FCS-Swift.h, from the release
#     build) is compiled in one C file together with Include/fcs.h: any difference in a
#     function's types is a "conflicting types" error. Swift spells opaque handles `void *`, so
#     parameters named model/outModel are rewritten to fcs_model * first (the only rewrite).
#     The check is run once more on a deliberately altered header, which must fail.
#  2. exports — `nm -D` of the library lists exactly the header's functions (and the version
#     script bindings/c/fcs.map names exactly those too).
# usage: tools/check_c_abi.sh path/to/libfcs.so.0
set -euo pipefail
cd "$(dirname "$0")/.."
LIB=${1:?usage: tools/check_c_abi.sh LIBFCS}
GENERATED=.build-release/release/FCS.build/include/FCS-Swift.h
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CLANG=$(dirname "$(readlink -f "$(command -v swift)")")/clang

sed -e 's/void \* _Nullable model\b/fcs_model * _Nullable model/g' \
    -e 's/void \* _Nullable \* _Nullable outModel\b/fcs_model * _Nullable * _Nullable outModel/g' \
    "$GENERATED" > "$WORK/fcs-swift.h"
printf '#include "fcs.h"\n#include "fcs-swift.h"\n' > "$WORK/check.c"
types_match() { "$CLANG" -fsyntax-only -Werror=incompatible-function-pointer-types -I "$1" -I "$WORK" "$WORK/check.c"; }

mkdir -p "$WORK/good" "$WORK/bad"
cp Include/fcs.h "$WORK/good/"
types_match "$WORK/good"
sed 's/int32_t scale,/int64_t scale,/' Include/fcs.h > "$WORK/bad/fcs.h"
if types_match "$WORK/bad" 2> /dev/null; then echo "check_c_abi: an altered header was not caught" >&2; exit 1; fi

header=$(grep -oE '\bfcs_[a-z0-9_]+\(' Include/fcs.h | tr -d '(' | sort -u)
exported=$(nm -D --defined-only "$LIB" | awk '$2 ~ /^[TDBR]$/ {sub(/@.*/, "", $3); print $3}' | grep -v '^FCS_0$' | sort -u)
mapped=$(grep -oE '^\s+fcs_[a-z0-9_]+;' bindings/c/fcs.map | tr -d ' ;' | sort -u)
status=0
diff <(echo "$header") <(echo "$exported") > "$WORK/exports.diff" || { echo "exports differ from Include/fcs.h (< header, > library):"; cat "$WORK/exports.diff"; status=1; }
diff <(echo "$header") <(echo "$mapped") > "$WORK/map.diff" || { echo "bindings/c/fcs.map differs from Include/fcs.h:"; cat "$WORK/map.diff"; status=1; }
soname=$(readelf -d "$LIB" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = libfcs.so.0 ] || { echo "SONAME is '$soname', not libfcs.so.0"; status=1; }
if readelf -d "$LIB" | grep -q 'NEEDED.*libswift'; then echo "libfcs needs the Swift runtime at run time"; status=1; fi
[ $status = 0 ] && echo "check_c_abi: $(echo "$header" | wc -l) functions; header, @c code, exports and version script agree; SONAME $soname; Swift runtime linked in"
exit $status
