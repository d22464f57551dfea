"""A constraint of your own, in a few lines of numpy: keep the colours of a region of a photo
and let the model invent the rest (here a mid-grey canvas around a region copied from the
photo), through model.solve(…, constraint=fn). fn sees the current estimate D(x̂0) and returns
the change it should make, and a weight (1 inside the region, 0 outside).

    python keep_region_colours.py photo.jpg out.png [--model demo]
"""
import argparse

import numpy as np
from PIL import Image

import fcs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo")
    parser.add_argument("output")
    parser.add_argument("--model", default="demo")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    photo = np.asarray(Image.open(args.photo).convert("RGB").resize((128, 128)), np.float32) / 255
    region = np.zeros(photo.shape[:2], np.float32)
    region[32:96, 32:96] = 1  # the centre square keeps the photo's colours

    def keep_region(x0):
        return photo - x0, region  # the change towards the photo, only where the weight is 1

    with fcs.Model(args.model) as model:
        out = model.solve(photo.shape[:2], constraint=keep_region, seed=args.seed, progress=True)
    Image.fromarray((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)).save(args.output)
    inside = np.abs(out - photo)[region == 1].mean()
    print(f"{args.output}: mean |difference| inside the region {inside:.3f} (0…1 scale)")


if __name__ == "__main__":
    main()
