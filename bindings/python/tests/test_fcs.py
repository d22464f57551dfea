"""The Python package against the tiny random model of the Swift tests (Tests/FCSModelsTests/
Fixtures/tiny-sd). Quality needs a real model; these check behaviour, types and errors."""
import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import fcs

REPOSITORY = Path(__file__).resolve().parents[3]
MODEL = REPOSITORY / "Tests" / "FCSModelsTests" / "Fixtures" / "tiny-sd"
TAESD = REPOSITORY / "Tests" / "FCSModelsTests" / "Fixtures" / "tiny-taesd"
LORAS = REPOSITORY / "Tests" / "FCSModelsTests" / "Fixtures" / "tiny-lora"
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


def test_version_is_the_header_s_and_the_wheel_s():
    header = (REPOSITORY / "Include" / "fcs.h").read_text()
    parts = [re.search(rf"#define FCS_VERSION_{part} (\d+)", header).group(1) for part in ("MAJOR", "MINOR", "PATCH")]
    assert fcs.__version__ == ".".join(parts)
    from importlib.metadata import version
    assert version("fcs") == fcs.__version__


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


def test_outer_samplers_run_and_differ(model, image, mask):
    ours = model.inpaint(image, mask, **{**QUICK, "steps": 3})
    for sampler in ("dpm++2m", "lcm"):
        other = model.inpaint(image, mask, sampler=sampler, **{**QUICK, "steps": 3})
        assert other.shape == ours.shape and not np.array_equal(other, ours), sampler
    assert model.super_resolve(image[:24, :32], 2, sampler="dpm++2m", **QUICK).shape == (48, 64, 3)
    with pytest.raises(fcs.InvalidArgumentError, match="paper, dpm\\+\\+2m, lcm"):
        model.inpaint(image, mask, sampler="ddim", **QUICK)


def test_precision_auto_is_bf16_where_the_cpu_has_it_and_bf16_differs(model, image, mask):
    ours = model.inpaint(image, mask, **QUICK)
    flags = set(" ".join(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split())
    automatic = "bf16" if {"avx512f", "avx512_bf16"} <= flags else "fp32"
    with fcs.Model(MODEL, precision="fp32") as fp32, fcs.Model(MODEL, precision="bf16") as bf16:
        results = {"fp32": fp32.inpaint(image, mask, **QUICK), "bf16": bf16.inpaint(image, mask, **QUICK)}
    assert np.array_equal(results[automatic], ours), automatic
    assert results["bf16"].shape == ours.shape and not np.array_equal(results["bf16"], results["fp32"])
    with pytest.raises(fcs.InvalidArgumentError, match="auto, fp32, bf16"):
        fcs.Model(MODEL, precision="fp16")


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


def test_uint16_and_bool_inputs_keep_their_dtype(model, image, mask):
    sixteen = image.astype(np.uint16) * 257  # the same picture, 0…65535
    out = model.inpaint(sixteen, mask.astype(bool), **QUICK)
    assert out.dtype == np.uint16 and out.shape == image.shape
    assert np.array_equal(out[:, :8], sixteen[:, :8])  # known pixels pasted back exactly
    assert np.abs(out.astype(np.int64) // 257 - model.inpaint(image, mask, **QUICK)).max() <= 1
    assert model.inpaint(image.astype(np.float16) / 255, mask, **QUICK).dtype == np.float16
    grey_mask = model.inpaint(mask.astype(bool), mask, **QUICK)  # a bool image comes back bool
    assert grey_mask.dtype == np.bool_ and grey_mask.shape == mask.shape
    layer1, _, ownership = model.extract_layers(sixteen, steps=1, newton_steps=1, iterations=1, samples_per_layer=1,
                                                restarts=1, block_size=16, seed=1)
    assert layer1.dtype == ownership.dtype == np.uint16


def test_pil_images_in_and_out(model, image, mask):
    from PIL import Image
    out = model.inpaint(Image.fromarray(image), Image.fromarray(mask), **QUICK)
    assert isinstance(out, Image.Image) and out.size == (64, 48) and out.mode == "RGB"


def test_pyvips_images_in_and_out(model, image, mask):
    pyvips = pytest.importorskip("pyvips")
    out = model.inpaint(pyvips.Image.new_from_array(image), pyvips.Image.new_from_array(mask), **QUICK)
    assert isinstance(out, pyvips.Image) and (out.width, out.height, out.bands) == (64, 48, 3)
    sixteen = pyvips.Image.new_from_array(image.astype(np.uint16) * 257).copy(interpretation="rgb16")
    out = model.inpaint(sixteen, pyvips.Image.new_from_array(mask), **QUICK)
    assert out.format == "ushort" and out.interpretation == "rgb16"


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
    upscaled = filled.gaussblur(0.5).fcs_super_resolve(2, model=str(MODEL), steps=2, newton_steps=1, seed=1)
    assert (upscaled.width, upscaled.height, upscaled.bands) == (128, 96, 3)
    transported = filled.gaussblur(0.5).fcs_super_resolve(2, model=str(MODEL), transport_vae=str(TAESD), steps=2,
                                                          newton_steps=1, seed=1)
    assert (transported.width, transported.height) == (128, 96) and (transported == upscaled).min() == 0
    again = source.fcs_inpaint(holes, model=str(MODEL), steps=2, newton_steps=1, seed=1)
    assert (filled == again).min() == 255
    # without a seed every call samples anew, and vips must not hand back a cached result
    first = source.fcs_inpaint(holes, model=str(MODEL), steps=2, newton_steps=1).numpy()
    second = source.fcs_inpaint(holes, model=str(MODEL), steps=2, newton_steps=1).numpy()
    assert not np.array_equal(first, second)


def test_vips_lora_arguments_key_the_model_cache(vips_operations, image, mask):
    pyvips = vips_operations
    source, holes = pyvips.Image.new_from_array(image).copy(interpretation="srgb"), pyvips.Image.new_from_array(mask)
    run = lambda **lora: source.fcs_inpaint(holes, model=str(MODEL), steps=2, newton_steps=1, seed=1, **lora).numpy()
    base = run()
    both = f"{LORAS / 'kohya.safetensors'},{LORAS / 'peft.safetensors'}"
    assert np.array_equal(run(lora_paths=both, lora_scales="0,0"), base)
    with_loras = run(lora_paths=both, lora_scales="1.3,1")
    assert not np.array_equal(with_loras, base)
    assert np.array_equal(run(), base)  # the model without LoRAs is still the cached one
    with fcs.Model(MODEL, lora_paths=[LORAS / "kohya.safetensors", LORAS / "peft.safetensors"], lora_scales=[1.3, 1]) as model:
        assert np.array_equal(model.inpaint(image, mask, steps=2, newton_steps=1, seed=1), with_loras)
    with pytest.raises(pyvips.Error, match="reference.safetensors"):
        run(lora_paths=str(LORAS / "reference.safetensors"))
    with pytest.raises(pyvips.Error, match="lora_scales has 1 values for 2"):
        run(lora_paths=both, lora_scales="1")


def test_super_resolve_and_layers_shapes(model, image):
    assert model.super_resolve(image[:24, :32], scale=2, **QUICK).shape == (48, 64, 3)
    layer1, layer2, ownership = model.extract_layers(image, steps=1, newton_steps=1, iterations=1,
                                                     samples_per_layer=1, restarts=1, block_size=16, seed=1)
    assert layer1.shape == layer2.shape == image.shape and ownership.shape == (48, 64)


def test_deblur_and_colorize_shapes_and_luminance(model, image):
    assert model.deblur(image, sigma=1.5, **QUICK).shape == image.shape
    assert model.deblur(image, kernel=np.ones((1, 5), np.float32), **QUICK).shape == image.shape
    with pytest.raises(ValueError, match="one of sigma and kernel"):
        model.deblur(image, **QUICK)
    with pytest.raises(fcs.InvalidArgumentError, match="odd"):
        model.deblur(image, kernel=np.ones((2, 2), np.float32), **QUICK)
    grey = image[:, :, 1]
    colour = model.colorize(grey, **QUICK)
    assert colour.shape == (48, 64, 3) and colour.dtype == np.uint8
    luma = colour.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    assert np.abs(luma - grey).max() <= 1


def test_solve_calls_the_constraint_with_the_estimate_and_its_change_steers(model):
    seen = []

    def towards_grey(x0):
        seen.append(x0.shape)
        return 0.5 - x0, np.ones(x0.shape[:2], np.float32)

    settings = dict(steps=3, newton_steps=4, seed=7, learning_rates=[0.5])
    steered = model.solve((24, 40), constraint=towards_grey, **settings)
    assert steered.shape == (24, 40, 3) and steered.dtype == np.float32
    assert seen == [(24, 40, 3)] * 12
    free = model.solve((24, 40), constraint=towards_grey, **dict(settings, newton_steps=0))
    assert np.abs(steered - 0.5).mean() < np.abs(free - 0.5).mean()
    like = model.solve(np.zeros((24, 40, 4), np.uint8), constraint=lambda x0: 0.5 - x0, **QUICK)
    assert like.shape == (24, 40, 4) and like.dtype == np.uint8


def test_solve_reraises_the_constraints_exception_and_checks_its_answer(model):
    def broken(x0):
        raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        model.solve((16, 16), constraint=broken, **QUICK)
    with pytest.raises(ValueError, match="shape"):
        model.solve((16, 16), constraint=lambda x0: x0[:8], **QUICK)
    with pytest.raises(fcs.InvalidArgumentError, match="finite"):
        model.solve((16, 16), constraint=lambda x0: x0 * np.nan, **QUICK)
    assert model.solve((16, 16), constraint=lambda x0: -x0, **QUICK).shape == (16, 16, 3), "the model stays usable"


def test_transport_vae_changes_super_resolve_and_bad_folders_raise(model, image):
    low = image[:24, :32]
    with fcs.Model(MODEL, transport_vae=TAESD) as transported:
        assert not np.array_equal(transported.super_resolve(low, scale=2, **QUICK), model.super_resolve(low, scale=2, **QUICK))
    with pytest.raises(fcs.FCSError, match="/nonexistent/taesd"):
        fcs.Model(MODEL, transport_vae="/nonexistent/taesd")


def test_noise_from_a_dict_is_the_noise_from_a_file(model, image, mask, tmp_path):
    rng = np.random.default_rng(0)
    noise = {"x_T": rng.standard_normal((1, 4, 8, 8), np.float32)}
    noise.update({f"z_{i}": rng.standard_normal((1, 4, 8, 8), np.float32) for i in range(2)})
    from_dict = model.inpaint(image, mask, steps=2, newton_steps=1, noise_path=noise)
    from fcs._noise import noise_file
    path, _ = noise_file(noise)
    target = tmp_path / "noise.safetensors"
    Path(path).rename(target)
    assert np.array_equal(from_dict, model.inpaint(image, mask, steps=2, newton_steps=1, noise_path=target))
    with pytest.raises(fcs.InvalidArgumentError, match="x_T"):
        model.inpaint(np.tile(image, (1, 2, 1)), np.tile(mask, (1, 2)), steps=2, noise_path=noise)  # needs 8×16 latents


def test_errors_are_exceptions_with_the_message(model, image, mask):
    with pytest.raises(fcs.FCSFileError, match="/nonexistent"):
        fcs.Model("/nonexistent/model")
    with pytest.raises(fcs.InvalidArgumentError, match="mask is 32×48"):
        model.inpaint(image, mask[:, :32], **QUICK)
    with pytest.raises(fcs.InvalidArgumentError, match="scale"):
        model.super_resolve(image, scale=3, **QUICK)
    with pytest.raises(ValueError, match="H×W×C"):
        model.inpaint(image[..., :2], mask, **QUICK)
    with pytest.raises(TypeError, match="int64"):
        model.inpaint(image.astype(np.int64), mask, **QUICK)
    with pytest.raises(TypeError, match="learnig_rates"):
        model.inpaint(image, mask, learnig_rates=[0.5], **QUICK)


def test_loras_are_merged_at_load_and_bad_ones_named(model, image, mask):
    base = model.inpaint(image, mask, **QUICK)
    with fcs.Model(MODEL, lora_paths=[LORAS / "kohya.safetensors", str(LORAS / "peft.safetensors")], lora_scales=[0, 1]) as merged:
        with_peft = merged.inpaint(image, mask, **QUICK)
    with fcs.Model(MODEL, lora_paths=[LORAS / "peft.safetensors"]) as peft_only:
        np.testing.assert_array_equal(peft_only.inpaint(image, mask, **QUICK), with_peft)  # scale 0 adds nothing
    assert not np.array_equal(with_peft, base)
    with pytest.raises(fcs.FormatError, match="reference.safetensors: key .* is no LoRA key"):
        fcs.Model(MODEL, lora_paths=[LORAS / "reference.safetensors"])
    with pytest.raises(fcs.InvalidArgumentError, match="lora_scales"):
        fcs.Model(MODEL, lora_paths=[LORAS / "peft.safetensors"], lora_scales=[float("nan")])
    with pytest.raises(ValueError, match="lora_scales has 2 values for 1"):
        fcs.Model(MODEL, lora_paths=[LORAS / "peft.safetensors"], lora_scales=[1, 1])


def test_none_leaves_every_field_at_the_library_default():
    from fcs.model import _SAMPLE_FIELDS, _SampleParams
    from fcs._library import lib
    defaults = lib.fcs_sample_params_default()
    with _SampleParams(lib.fcs_sample_params_default(), dict.fromkeys(_SAMPLE_FIELDS), None) as params:
        for name, _ in defaults._fields_:
            if name in ("learning_rates", "noise_path", "prompt"):
                assert not getattr(params.value, name) and not getattr(defaults, name), name  # NULL
            elif name not in ("seed", "progress", "user_data"):  # seed None: a random one
                assert getattr(params.value, name) == getattr(defaults, name), name
    assert fcs.defaults()["steps"] == defaults.steps and fcs.defaults()["sampler"] == "paper"
    assert fcs.defaults()["extract_layers.steps"] == lib.fcs_layer_params_default().sample.steps


def test_a_single_file_loads_with_the_configs_of_config_folder(image, mask):
    sd2 = REPOSITORY / "Tests" / "FCSModelsTests" / "Fixtures" / "tiny-sd2"
    with fcs.Model(sd2 / "tiny-sd2.safetensors", config_folder=sd2) as single, fcs.Model(sd2) as folder:
        np.testing.assert_array_equal(single.inpaint(image, mask, **QUICK), folder.inpaint(image, mask, **QUICK))
    # without configs they are inferred from the tensors, but the tiny widths are no known family's
    with pytest.raises(fcs.FormatError, match="tiny-sd2.safetensors: .*config folder"):
        fcs.Model(sd2 / "tiny-sd2.safetensors")


def test_a_request_beyond_the_memory_available_is_a_memory_error(model, image, mask, monkeypatch):
    monkeypatch.setenv("FCS_MEMORY_AVAILABLE", "1000")  # bytes: libfcs's override of MemAvailable
    with pytest.raises(MemoryError, match="GiB") as raised:
        model.inpaint(image, mask, **QUICK)
    assert type(raised.value) is fcs.FCSMemoryError
    monkeypatch.delenv("FCS_MEMORY_AVAILABLE")
    assert model.inpaint(image, mask, **QUICK).shape == image.shape


def test_every_status_of_the_header_raises_its_own_error():
    header = (REPOSITORY / "Include" / "fcs.h").read_text()
    statuses = dict(re.findall(r"^\s+(FCS_[A-Z_]+) = (-?\d+),?", header.split("} fcs_status;")[0].split("enum fcs_status")[1],
                               re.MULTILINE))
    expected = {"FCS_OK": None, "FCS_CANCELLED": fcs.Cancelled, "FCS_ERROR_INVALID_ARGUMENT": fcs.InvalidArgumentError,
                "FCS_ERROR_IO": fcs.FCSFileError, "FCS_ERROR_FORMAT": fcs.FormatError,
                "FCS_ERROR_OUT_OF_MEMORY": fcs.FCSMemoryError, "FCS_ERROR_INTERNAL": fcs.FCSError}
    assert set(statuses) == set(expected), "a status of Include/fcs.h has no exception here"
    from fcs.errors import raise_for_status
    for name, value in statuses.items():
        if expected[name] is None:
            continue
        with pytest.raises(fcs.FCSError, match="the message") as raised:
            raise_for_status(int(value), "the message")
        assert type(raised.value) is expected[name] and raised.value.status == int(value), name
    assert issubclass(fcs.FCSMemoryError, MemoryError) and issubclass(fcs.FCSFileError, OSError)


def test_progress_callback_sees_steps_and_can_cancel(model, image, mask, capfd):
    seen = []
    model.inpaint(image, mask, progress=lambda step, total: seen.append((step, total)), **QUICK)
    assert seen == [(1, 2), (2, 2)]
    with pytest.raises(fcs.Cancelled):
        model.inpaint(image, mask, progress=lambda step, total: False, **QUICK)

    def broken(step, total):
        raise KeyError("from the callback")
    with pytest.raises(KeyError, match="from the callback"):
        model.inpaint(image, mask, progress=broken, **QUICK)
    assert "Exception ignored" not in capfd.readouterr().err


def _sample_params(progress):
    from fcs.model import _SampleParams
    from fcs._library import lib
    return _SampleParams(lib.fcs_sample_params_default(), dict(steps=3, newton_steps=1, seed=1), progress)


# fcs calls its progress callback before every network forward, so a step repeats many times.
REPEATING_CALLS = [(0, 3), (0, 3), (1, 3), (1, 3), (1, 3), (2, 3), (3, 3), (3, 3)]


def test_progress_callable_hears_of_each_step_once():
    seen = []
    with _sample_params(lambda step, total: seen.append((step, total))) as params:
        answers = [params.value.progress(step, total, None) for step, total in REPEATING_CALLS]
    assert seen == [(1, 3), (2, 3), (3, 3)] and answers == [0] * len(REPEATING_CALLS)


def test_progress_bar_moves_once_per_step(monkeypatch):
    tqdm = pytest.importorskip("tqdm")
    updates = []
    monkeypatch.setattr(tqdm.tqdm, "update", lambda bar, n=1: updates.append(n) or setattr(bar, "n", bar.n + n))
    with _sample_params(True) as params:
        for step, total in REPEATING_CALLS:
            assert params.value.progress(step, total, None) == 0
        assert params._bar.total == 3
    assert updates == [1, 1, 1]


def test_progress_stops_at_the_first_false_or_exception():
    calls = []
    with _sample_params(lambda step, total: calls.append(step) or step < 1) as params:
        assert [params.value.progress(step, total, None) for step, total in REPEATING_CALLS[:5]] == [0, 0, 1, 1, 1]
    assert calls == [1]  # once cancelled, the caller's callable is not called again


# A child process that starts a long task on the tiny model, is sent SIGINT, and checks that
# the model still gives the pixels it gave before; it prints when KeyboardInterrupt arrived. It
# puts Python's SIGINT handler in place itself: Python leaves SIGINT ignored when it starts with
# it ignored, as a test run started in the background of a non-interactive shell does.
INTERRUPTED_CHILD = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
import fcs
task, model = sys.argv[1], fcs.Model(sys.argv[2])
y, x = np.mgrid[0:48, 0:64]
image = np.stack([x * 4, y * 5, x + y], axis=-1).astype(np.uint8)
mask = np.zeros((48, 64), np.uint8)
mask[8:32, 24:40] = 255
def run(quick):
    common = dict(steps=2, newton_steps=1, seed=1) if quick else dict(steps=1000, newton_steps=20, seed=1)
    if task == "inpaint":
        return [model.inpaint(image, mask, **common)]
    if task == "super_resolve":
        return [model.super_resolve(image[:24, :32], scale=2, **common)]
    if not quick:  # many short EM iterations (each reports progress), not long ones
        common = dict(steps=20, newton_steps=5, seed=1, iterations=100)
    return model.extract_layers(image, samples_per_layer=1, restarts=1, block_size=16, **{"iterations": 1, **common})
before = run(quick=True)
print("sampling", flush=True)
try:
    run(quick=False)
    print("finished without an interrupt")
except KeyboardInterrupt:
    print("interrupted at", time.monotonic(), flush=True)
after = run(quick=True)
print("healthy" if all(np.array_equal(a, b) for a, b in zip(before, after)) else "different pixels afterwards")
"""


@pytest.mark.parametrize("task", ["inpaint", "super_resolve", "extract_layers"])
def test_ctrl_c_cancels_within_a_forward_and_leaves_the_model_working(task, capsys):
    child = subprocess.Popen([sys.executable, "-c", INTERRUPTED_CHILD, task, str(MODEL)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "sampling\n"
        time.sleep(1)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=300)
    finally:
        child.kill()
    assert child.returncode == 0 and "Exception ignored" not in err and "Traceback" not in err, err
    lines = out.splitlines()
    assert lines[0].startswith("interrupted at") and lines[1] == "healthy", out
    with capsys.disabled():
        print(f"\n{task}: KeyboardInterrupt {(float(lines[0].split()[-1]) - sent) * 1e3:.1f} ms after SIGINT")


def test_four_threads_with_their_own_seeds_get_their_single_threaded_pixels(model, image, mask):
    seeds = [11, 12, 13, 14]
    expected = [model.inpaint(image, mask, steps=3, newton_steps=1, seed=seed) for seed in seeds]
    assert len({result.tobytes() for result in expected}) == 4
    results, start = [None] * 4, threading.Barrier(4)

    def run(i):
        start.wait()
        results[i] = model.inpaint(image, mask, steps=3, newton_steps=1, seed=seeds[i])
    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [result.tobytes() for result in results] == [result.tobytes() for result in expected]


def test_a_closed_model_is_an_error(image, mask):
    model = fcs.Model(MODEL)
    model.close()
    with pytest.raises(ValueError, match="closed"):
        model.inpaint(image, mask, **QUICK)
