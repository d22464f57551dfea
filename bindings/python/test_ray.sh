#!/usr/bin/env bash
# Runs examples/ray_inpaint_folder.py on a real local Ray cluster (ray.init() on this machine)
# over a folder of photo crops with the demo model, once with 1 worker and once with 2, and
# checks what each run wrote. Opt-in (`make test-ray`): it installs Ray from PyPI into
# .venv-ray and takes minutes. The throughput lines it prints are figures, never asserted.
#   bindings/python/test_ray.sh [PHOTOS_DIR]
# PHOTOS_DIR (e.g. from tools/fetch_demo_photos.sh) gives the crops; default: the bundled
# tools/samples/astronaut.jpg. RAY_TEST_IMAGES (8) crops of RAY_TEST_SIZE (64) px are made.
set -euo pipefail
cd "$(dirname "$0")/../.."
PHOTOS=${1:-tools/samples}
IMAGES=${RAY_TEST_IMAGES:-8}
SIZE=${RAY_TEST_SIZE:-64}
VENV=.venv-ray
[ -x $VENV/bin/python ] || python3 -m venv $VENV
$VENV/bin/pip install -q "ray[data]==2.60.0" numpy pillow
$VENV/bin/pip install -q ./bindings/python
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Crops spread over the photos, each with a centred square hole of half its side.
$VENV/bin/python - "$PHOTOS" "$WORK" "$IMAGES" "$SIZE" <<'EOF'
import os, sys
from PIL import Image
photos, work, count, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
files = sorted(f for f in os.listdir(photos) if f.lower().endswith((".jpg", ".png")) and "mask" not in f)
os.makedirs(f"{work}/images"); os.makedirs(f"{work}/masks")
hole = Image.new("L", (size, size), 0)
hole.paste(255, (size // 4, size // 4, size - size // 4, size - size // 4))
per_photo = -(-count // len(files))
for i in range(count):
    photo = Image.open(os.path.join(photos, files[i % len(files)])).convert("RGB")
    k = i // len(files)  # this photo's k-th crop, spread along its diagonal
    x = (photo.width - size) * (2 * k + 1) // (2 * per_photo)
    y = (photo.height - size) * (2 * k + 1) // (2 * per_photo)
    photo.crop((x, y, x + size, y + size)).save(f"{work}/images/crop{i:02}.png")
    hole.save(f"{work}/masks/crop{i:02}.png")
print(f"{count} crops of {size}×{size} px from {len(files)} photo(s) in {photos}")
EOF

CPUS=$(nproc)
# Ray starts its workers at nice 15; at 0 they get a fair share of a machine shared with other
# work, so the throughput lines mean something there too.
export RAY_worker_niceness=0
run() {  # WORKERS CPUS_PER_WORKER
    echo "== $1 worker(s) × $2 CPU(s)"
    $VENV/bin/python bindings/python/examples/ray_inpaint_folder.py demo "$WORK/images" "$WORK/masks" \
        "$WORK/out-$1" --workers "$1" --cpus-per-worker "$2" 2> "$WORK/ray-$1.log" \
        || { tail -n 40 "$WORK/ray-$1.log"; exit 1; }
}
run 1 "$CPUS"
run 2 $(( CPUS / 2 > 0 ? CPUS / 2 : 1 ))

# Every image was written, filled inside its hole, untouched outside it and its 8 px seam, and
# both runs wrote the same pixels (the 64² demo model's results do not depend on fcs's thread count).
$VENV/bin/python - "$WORK" "$IMAGES" <<'EOF'
import os, sys
import numpy as np
from PIL import Image
work, count = sys.argv[1], int(sys.argv[2])
names = sorted(os.listdir(f"{work}/images"))
assert len(names) == count
for name in names:
    image = np.asarray(Image.open(f"{work}/images/{name}")).astype(int)
    hole = np.asarray(Image.open(f"{work}/masks/{name}")) > 127
    outs = [np.asarray(Image.open(f"{work}/out-{w}/{name}")).astype(int) for w in (1, 2)]
    for out in outs:
        assert out.shape == image.shape, (name, out.shape)
        rows, cols = np.nonzero(hole)
        far = np.ones_like(hole)
        far[max(rows.min() - 8, 0):rows.max() + 9, max(cols.min() - 8, 0):cols.max() + 9] = False
        assert (out[far] == image[far]).all(), f"{name}: known pixels changed"
        assert (out[hole] != image[hole]).any(axis=-1).mean() > 0.5, f"{name}: the hole was not filled"
    assert (outs[0] == outs[1]).all(), f"{name}: 1 and 2 workers wrote different pixels"
print(f"bindings/python: Ray, {count} images inpainted by 1 and by 2 workers, the same pixels")
EOF
