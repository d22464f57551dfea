"""The Python package against the tiny random model of the Swift tests (Tests/FCSModelsTests/
Fixtures/tiny-sd). Quality needs a real model; these check behaviour, types and errors."""
import ctypes
import os
import threading
from pathlib import Path

import numpy as np
import pytest

import fcs

MODEL = Path(__file__).resolve().parents[3] / "Tests" / "FCSModelsTests" / "Fixtures" / "tiny-sd"
QUICK = dict(steps=2, newton_steps=1, seed=7)


@pytest.fixture(scope="module")
def model():
    with fcs.Model(MODEL) as model:
        yield model


@pytest.fixture
def image():
    y, x = np.mgrid[0:48, 0:64]
    return np.stack([x * 4, y * 5, x + y], axis=-1).astype(np.uint8)


@pytest.fixture
def mask():
    mask = np.zeros((48, 64), np.uint8)
    mask[8:32, 24:40] = 255
    return mask


def test_version_matches_the_package():
    assert fcs.__version__ == "0.1.0"


def test_inpaint_keeps_shape_dtype_and_known_pixels(model, image, mask):
    out = model.inpaint(image, mask, **QUICK)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(out[:, :8], image[:, :8])  # far from the hole and its seam
    assert not np.array_equal(out[8:32, 24:40], image[8:32, 24:40])


def test_replacement_baseline_runs_and_differs(model, image, mask):
    ours = model.inpaint(image, mask, **QUICK)
    baseline = model.inpaint(image, mask, method="replacement", **QUICK)
    assert baseline.shape == ours.shape and not np.array_equal(baseline, ours)
    with pytest.raises(ValueError, match="method"):
        model.inpaint(image, mask, method="repaint", **QUICK)


def test_same_seed_same_pixels_other_seed_other_pixels(model, image, mask):
    first = model.inpaint(image, mask, **QUICK)
    assert np.array_equal(first, model.inpaint(image, mask, **QUICK))
    assert not np.array_equal(first, model.inpaint(image, mask, **{**QUICK, "seed": 8}))


def test_float_rgba_and_grey_inputs(model, image, mask):
    rgba = np.concatenate([image, np.full((48, 64, 1), 200, np.uint8)], axis=-1).astype(np.float32) / 255
    out = model.inpaint(rgba, mask, **QUICK)
    assert out.dtype == np.float32 and out.shape == (48, 64, 4)
    assert np.allclose(out[..., 3], 200 / 255)
    grey = model.inpaint(image[..., 0], mask, **QUICK)
    assert grey.shape == (48, 64)


def test_pil_images_in_and_out(model, image, mask):
    from PIL import Image
    out = model.inpaint(Image.fromarray(image), Image.fromarray(mask), **QUICK)
    assert isinstance(out, Image.Image) and out.size == (64, 48) and out.mode == "RGB"


def test_pyvips_images_in_and_out(model, image, mask):
    pyvips = pytest.importorskip("pyvips")
    out = model.inpaint(pyvips.Image.new_from_array(image), pyvips.Image.new_from_array(mask), **QUICK)
    assert isinstance(out, pyvips.Image) and (out.width, out.height, out.bands) == (64, 48, 3)


@pytest.fixture(scope="module")
def vips_operations():
    """The staged vips module, loaded the way a host with a private copy does (no VIPSHOME)."""
    pyvips = pytest.importorskip("pyvips")
    plugin = os.environ.get("FCS_VIPS_PLUGIN")
    if not plugin:
        pytest.skip("FCS_VIPS_PLUGIN (the staged fcs-vips.so) not given")
    ctypes.CDLL(plugin).fcs_vips_init()
    return pyvips


def test_pyvips_pipeline_through_the_vips_operations(vips_operations, image, mask):
    pyvips = vips_operations
    source, holes = pyvips.Image.new_from_array(image).copy(interpretation="srgb"), pyvips.Image.new_from_array(mask)
    filled = source.fcs_inpaint(holes, model=str(MODEL), steps=2, newton_steps=1, seed=1)
    upscaled = filled.gaussblur(0.5).fcs_superres(model=str(MODEL), scale=2, steps=2, newton_steps=1, seed=1)
    assert (upscaled.width, upscaled.height, upscaled.bands) == (128, 96, 3)
    again = source.fcs_inpaint(holes, model=str(MODEL), steps=2, newton_steps=1, seed=1)
    assert (filled == again).min() == 255
    # without a seed every call samples anew, and vips must not hand back a cached result
    first = source.fcs_inpaint(holes, model=str(MODEL), steps=2, newton_steps=1).numpy()
    second = source.fcs_inpaint(holes, model=str(MODEL), steps=2, newton_steps=1).numpy()
    assert not np.array_equal(first, second)


def test_superres_and_layers_shapes(model, image):
    assert model.superres(image[:24, :32], scale=2, **QUICK).shape == (48, 64, 3)
    layer1, layer2, ownership = model.extract_layers(image, steps=1, newton_steps=1, iterations=1,
                                                     samples_per_layer=1, restarts=1, block_size=16, seed=1)
    assert layer1.shape == layer2.shape == image.shape and ownership.shape == (48, 64)


def test_noise_from_a_dict_is_the_noise_from_a_file(model, image, mask, tmp_path):
    rng = np.random.default_rng(0)
    noise = {"x_T": rng.standard_normal((1, 4, 8, 8), np.float32)}
    noise.update({f"z_{i}": rng.standard_normal((1, 4, 8, 8), np.float32) for i in range(2)})
    from_dict = model.inpaint(image, mask, steps=2, newton_steps=1, noise=noise)
    from fcs._noise import noise_file
    path, _ = noise_file(noise)
    target = tmp_path / "noise.safetensors"
    Path(path).rename(target)
    assert np.array_equal(from_dict, model.inpaint(image, mask, steps=2, newton_steps=1, noise=target))
    with pytest.raises(fcs.InvalidArgumentError, match="x_T"):
        model.inpaint(np.tile(image, (1, 2, 1)), np.tile(mask, (1, 2)), steps=2, noise=noise)  # needs 8×16 latents


def test_errors_are_exceptions_with_the_message(model, image, mask):
    with pytest.raises(fcs.FCSFileError, match="/nonexistent"):
        fcs.Model("/nonexistent/model")
    with pytest.raises(fcs.InvalidArgumentError, match="mask is 32×48"):
        model.inpaint(image, mask[:, :32], **QUICK)
    with pytest.raises(fcs.InvalidArgumentError, match="scale"):
        model.superres(image, scale=3, **QUICK)
    with pytest.raises(ValueError, match="H×W×C"):
        model.inpaint(image[..., :2], mask, **QUICK)
    with pytest.raises(TypeError):
        model.inpaint(image.astype(np.int64), mask, **QUICK)


def test_progress_callback_sees_steps_and_can_cancel(model, image, mask):
    seen = []
    model.inpaint(image, mask, progress=lambda step, total: seen.append((step, total)), **QUICK)
    assert seen == [(1, 2), (2, 2)]
    with pytest.raises(fcs.Cancelled):
        model.inpaint(image, mask, progress=lambda step, total: False, **QUICK)

    def broken(step, total):
        raise KeyError("from the callback")
    with pytest.raises(KeyError, match="from the callback"):
        model.inpaint(image, mask, progress=broken, **QUICK)


def test_four_threads_share_one_model(model, image, mask):
    expected = model.inpaint(image, mask, **QUICK)
    results = [None] * 4

    def run(i):
        results[i] = model.inpaint(image, mask, **QUICK)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(np.array_equal(result, expected) for result in results)


def test_a_closed_model_is_an_error(image, mask):
    model = fcs.Model(MODEL)
    model.close()
    with pytest.raises(ValueError, match="closed"):
        model.inpaint(image, mask, **QUICK)
