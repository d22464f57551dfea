"""Inpaint a folder of images on a Ray cluster (the scale-out path for more than one machine).

    pip install ./bindings/python "ray[data]" pillow
    python ray_inpaint_folder.py MODEL IMAGES_DIR MASKS_DIR OUT_DIR [--steps N]

Each image IMAGES_DIR/name.png is filled where MASKS_DIR/name.png is white. Ray starts one actor
per worker process (spawned, not forked: see the package docs), each loading the model once and
giving fcs all of its CPUs.
"""
import argparse
import os

import numpy as np
import ray
from PIL import Image


class Inpainter:
    def __init__(self, model, steps, threads):
        import fcs
        fcs.set_num_threads(threads)
        self.model, self.steps = fcs.Model(model), steps

    def __call__(self, batch):
        outputs = []
        for path, mask_path in zip(batch["path"], batch["mask_path"]):
            image = np.asarray(Image.open(path).convert("RGB"))
            mask = np.asarray(Image.open(mask_path).convert("L"))
            outputs.append(self.model.inpaint(image, mask, steps=self.steps, seed=0))
        batch["inpainted"] = outputs
        return batch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("images")
    parser.add_argument("masks")
    parser.add_argument("out")
    parser.add_argument("--steps", type=int, help="outer steps (default: the library's, fcs.defaults()['steps'])")
    parser.add_argument("--cpus-per-worker", type=int, default=os.cpu_count())
    args = parser.parse_args()
    names = sorted(name for name in os.listdir(args.images) if os.path.exists(os.path.join(args.masks, name)))
    items = [{"path": os.path.join(args.images, n), "mask_path": os.path.join(args.masks, n)} for n in names]
    ray.init()
    results = ray.data.from_items(items).map_batches(
        Inpainter, fn_constructor_args=(args.model, args.steps, args.cpus_per_worker),
        batch_size=1, num_cpus=args.cpus_per_worker, concurrency=(1, 64))
    os.makedirs(args.out, exist_ok=True)
    for row in results.iter_rows():
        Image.fromarray(row["inpainted"]).save(os.path.join(args.out, os.path.basename(row["path"])))
        print(row["path"])


if __name__ == "__main__":
    main()
