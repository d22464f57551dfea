"""Inpaint a folder of images on a Ray cluster (the scale-out path for more than one machine).

    pip install ./bindings/python "ray[data]" pillow
    python ray_inpaint_folder.py MODEL IMAGES_DIR MASKS_DIR OUT_DIR [--workers N] [--cpus-per-worker C] [--steps S]

Each image IMAGES_DIR/name is filled where MASKS_DIR/name is white and written to OUT_DIR/name.
`ray.init()` joins the cluster that RAY_ADDRESS names, or starts a local one on this machine.
Ray starts N actors (default: as many as the cluster's CPUs hold at C each), each a worker
process of its own (not forked: see the package docs) that loads the model once and gives fcs
C threads. Prints each file as it is written, then the throughput: images per minute from the
start of the dataset (the actors' start and model loads included) to the last file written, and
the CPU time the workers spent in fcs per image (which other work on the machine hardly changes).
"""
import argparse
import os
import time

import numpy as np
import ray
from PIL import Image


class Inpainter:
    def __init__(self, model, steps, threads):
        import fcs
        fcs.set_num_threads(threads)
        self.model, self.steps = fcs.Model(model), steps

    def __call__(self, batch):
        outputs, cpu_seconds = [], []
        for path, mask_path in zip(batch["path"], batch["mask_path"]):
            image = np.asarray(Image.open(path).convert("RGB"))
            mask = np.asarray(Image.open(mask_path).convert("L"))
            start = time.process_time()  # this worker's CPU time, all its threads
            outputs.append(self.model.inpaint(image, mask, steps=self.steps, seed=0))
            cpu_seconds.append(time.process_time() - start)
        batch["inpainted"], batch["cpu_seconds"] = outputs, cpu_seconds
        return batch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a diffusers folder, a .safetensors checkpoint, a hub name, or demo")
    parser.add_argument("images")
    parser.add_argument("masks")
    parser.add_argument("out")
    parser.add_argument("--workers", type=int, help="actors to start (default: the cluster's CPUs / --cpus-per-worker)")
    parser.add_argument("--cpus-per-worker", type=int, default=os.cpu_count(), help="CPUs (fcs threads) per actor")
    parser.add_argument("--steps", type=int, help="outer steps (default: the library's, fcs.defaults()['steps'])")
    args = parser.parse_args()
    if args.cpus_per_worker < 1 or (args.workers is not None and args.workers < 1):
        parser.error("--workers and --cpus-per-worker must be at least 1")
    names = sorted(name for name in os.listdir(args.images) if os.path.exists(os.path.join(args.masks, name)))
    if not names:
        parser.error(f"no image in {args.images} has a mask of the same name in {args.masks}")
    items = [{"path": os.path.join(args.images, n), "mask_path": os.path.join(args.masks, n)} for n in names]
    ray.init()
    workers = args.workers or max(1, int(ray.cluster_resources().get("CPU", 1)) // args.cpus_per_worker)
    os.makedirs(args.out, exist_ok=True)
    start, cpu_seconds = time.monotonic(), 0.0
    results = ray.data.from_items(items).map_batches(
        Inpainter, fn_constructor_args=(args.model, args.steps, args.cpus_per_worker),
        batch_size=1, num_cpus=args.cpus_per_worker, concurrency=workers)
    for row in results.iter_rows():
        path = os.path.join(args.out, os.path.basename(row["path"]))
        Image.fromarray(row["inpainted"]).save(path)
        cpu_seconds += row["cpu_seconds"]
        print(path, flush=True)
    seconds = time.monotonic() - start
    print(f"{len(items)} images in {seconds:.1f} s: {60 * len(items) / seconds:.2f} images/minute "
          f"(workers: {workers}, CPUs each: {args.cpus_per_worker}); {cpu_seconds / len(items):.1f} CPU s an image")


if __name__ == "__main__":
    main()
