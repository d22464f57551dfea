"""fcs.Model: a loaded Stable Diffusion 1.x model and its tasks."""
import ctypes
import functools
import os
import random
import signal
import threading

import numpy as np

from ._images import from_fcs_image, to_fcs_image
from ._library import (FCS_CONSTRAINT_CALLBACK, FCS_CONSTRAINT_GAUSSIAN_BLUR, FCS_CONSTRAINT_KERNEL_BLUR,
                       FCS_CONSTRAINT_LUMINANCE, FCS_INPAINT_CONSTRAINED, FCS_INPAINT_REPLACEMENT, FCS_VARIANT_AUTO,
                       FCS_VARIANT_FP16, FCS_VARIANT_FP32, FCS_WEIGHTS_F16, FCS_WEIGHTS_F32,
                       ConstraintCallback, Image, LayerParams, ProgressCallback, SampleParams, check, lib)
from ._noise import noise_file

_WEIGHTS = {"float32": FCS_WEIGHTS_F32, "float16": FCS_WEIGHTS_F16}
_VARIANTS = {"auto": FCS_VARIANT_AUTO, "fp16": FCS_VARIANT_FP16, "fp32": FCS_VARIANT_FP32}
_METHODS = {"constrained": FCS_INPAINT_CONSTRAINED, "replacement": FCS_INPAINT_REPLACEMENT}


def _lora(entry):
    """A loras= entry as (encoded path, scale)."""
    path, scale = (entry, 1.0) if isinstance(entry, (str, bytes, os.PathLike)) else tuple(entry)
    return os.fsencode(path), float(scale)


class Model:
    """A model loaded once and shared: any number of threads may sample with it at once (the GIL
    is released while fcs runs).

    path: a diffusers folder, a single-file .safetensors checkpoint, or a model name already in
    the Hugging Face hub cache. weights: "float32" (fastest) or "float16" (less memory), for fp32
    compute. precision: the compute precision, "auto" (fcs's choice for this CPU: fp32 for now),
    "fp32", or "bf16" (bfloat16 products with float32 sums, bf16 weights: about twice as fast on
    CPUs with AVX512_BF16, slower without; not the default until it passes the gate of
    `fcs bench precision`).
    transport_vae: a diffusers AutoencoderTiny (TAESD) folder or hub-cache name, e.g.
    "madebyollin/taesd", that super-resolution's inner loop uses instead of the model's VAE (the
    final decode stays the VAE's); None = the VAE throughout. Its effect on quality is untested.
    loras: LoRA .safetensors files (diffusers/PEFT or kohya format, e.g. LCM-LoRA) merged into the
    weights at load, each a path (scale 1) or a (path, scale) pair: W += scale * alpha / rank * up @ down.
    """

    def __init__(self, path, *, weights="float32", precision="auto", variant="auto", config_folder=None,
                 transport_vae=None, loras=()):
        if weights not in _WEIGHTS or variant not in _VARIANTS:
            raise ValueError(f"weights must be one of {list(_WEIGHTS)}, variant one of {list(_VARIANTS)}")
        params = lib.fcs_model_params_default()
        params.weight_type, params.variant = _WEIGHTS[weights], _VARIANTS[variant]
        precision_value = ctypes.c_int()
        check(lib.fcs_precision_from_name(str(precision).encode(), ctypes.byref(precision_value)))
        params.precision = precision_value.value
        if config_folder is not None:
            params.config_folder = os.fsencode(config_folder)
        if transport_vae is not None:
            params.transport_vae = os.fsencode(transport_vae)
        pairs = [_lora(entry) for entry in loras]
        paths = (ctypes.c_char_p * len(pairs))(*(p for p, _ in pairs))
        scales = (ctypes.c_float * len(pairs))(*(s for _, s in pairs))
        if pairs:
            params.lora_paths, params.lora_scales, params.n_loras = paths, scales, len(pairs)
        handle = ctypes.c_void_p()
        check(lib.fcs_model_load(os.fsencode(path), ctypes.byref(params), ctypes.byref(handle)))
        self._handle = handle

    def close(self):
        """Frees the model now (otherwise when it is garbage-collected)."""
        if getattr(self, "_handle", None) and lib is not None:  # lib is gone at interpreter exit
            lib.fcs_model_free(self._handle)
            self._handle = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _model(self):
        if not self._handle:
            raise ValueError("the model was closed")
        return self._handle

    def inpaint(self, image, mask, *, steps=20, seed=None, prompt="", newton_steps=None, learning_rates=None,
                fd_step=0.005, guidance_scale=0.0, paste_back=True, seam_width=8, official_timesteps=False,
                noise=None, progress=None, method="constrained", sampler="paper"):
        """Fills the pixels where mask is set (≥ half its range: white) and returns the image.

        image: H×W×C (C = 1, 3, 4) uint8 or float32 0…1 array, PIL or pyvips image; alpha kept.
        seed: None draws a random one. newton_steps (K, default 5) and learning_rates (default
        0.5 … 0.1) are the inner correction loop. paste_back keeps known pixels exactly.
        noise: a safetensors path or dict with x_T and z_0 … z_{steps-1} instead of the seed.
        progress: True for a tqdm bar, or a callable(step, total), called once as each step
        completes, that returns False to cancel (fcs.Cancelled). An exception it raises, or
        Ctrl-C, cancels within one network forward and is re-raised.
        method: "constrained" (fcs) or "replacement" (the baseline, for comparisons).
        sampler: the outer step, "paper" (the paper's), "dpm++2m" (DPM-Solver++(2M), about 10
        steps) or "lcm" (LCM checkpoints, 4–8 steps); the other tasks take it too.
        """
        if method not in _METHODS:
            raise ValueError(f"method must be one of {list(_METHODS)}")
        struct, keep_image, kind = to_fcs_image(image, "image")
        mask_struct, keep_mask, _ = to_fcs_image(mask, "mask")
        with _SampleParams(steps, seed, prompt, newton_steps, learning_rates, fd_step, guidance_scale,
                           official_timesteps, noise, progress, sampler) as params:
            params.value.paste_back, params.value.seam_width = int(bool(paste_back)), seam_width
            params.value.method = _METHODS[method]
            out = Image()
            params.call(lib.fcs_inpaint, self._model(), ctypes.byref(struct), ctypes.byref(mask_struct),
                        ctypes.byref(params.value), ctypes.byref(out), outputs=[out])
        del keep_image, keep_mask
        return from_fcs_image(out, kind)

    def superres(self, image, scale=4, *, steps=20, seed=None, prompt="", newton_steps=None, learning_rates=None,
                 fd_step=0.005, guidance_scale=0.0, official_timesteps=False, noise=None, progress=None, sampler="paper"):
        """Upscales image by scale (2, 4 or 8); K defaults to 10 and λ to 0.5 (VAE-Newton; 0.05 for pixel-space models)."""
        struct, keep, kind = to_fcs_image(image, "image")
        with _SampleParams(steps, seed, prompt, newton_steps, learning_rates, fd_step, guidance_scale,
                           official_timesteps, noise, progress, sampler) as params:
            out = Image()
            params.call(lib.fcs_super_resolve, self._model(), ctypes.byref(struct), int(scale),
                        ctypes.byref(params.value), ctypes.byref(out), outputs=[out])
        del keep
        return from_fcs_image(out, kind)

    def deblur(self, image, *, sigma=None, kernel=None, steps=20, seed=None, prompt="", newton_steps=None,
               learning_rates=None, fd_step=0.005, guidance_scale=0.0, official_timesteps=False, noise=None,
               progress=None, sampler="paper"):
        """Removes a known blur: a Gaussian of standard deviation sigma (pixels), or kernel, the
        point-spread function as an H×W array or image (odd sides; scaled to sum 1). The blur's
        adjoint carries the residual back; K and λ default as superres's."""
        if (sigma is None) == (kernel is None):
            raise ValueError("give one of sigma and kernel")
        constraint = lib.fcs_constraint_default()
        keep_kernel = None
        if kernel is not None:
            kernel_struct, keep_kernel, _ = to_fcs_image(np.asarray(kernel, dtype=np.float32) if isinstance(kernel, (list, tuple))
                                                         else kernel, "kernel")
            constraint.kind, constraint.kernel = FCS_CONSTRAINT_KERNEL_BLUR, ctypes.pointer(kernel_struct)
        else:
            constraint.kind, constraint.sigma = FCS_CONSTRAINT_GAUSSIAN_BLUR, sigma
        result = self._solve(image, constraint, steps, seed, prompt, newton_steps, learning_rates, fd_step,
                             guidance_scale, official_timesteps, noise, progress, sampler)
        del keep_kernel
        return result

    def colorize(self, image, *, steps=20, seed=None, prompt="", newton_steps=None, learning_rates=None,
                 fd_step=0.005, guidance_scale=0.0, official_timesteps=False, noise=None, progress=None, sampler="paper"):
        """Colours a grey image (of a colour image, its Rec. 601 luminance is used); the result is
        colour (H×W×3 for a grey array) with the input's luminance. K and λ default as superres's."""
        constraint = lib.fcs_constraint_default()
        constraint.kind = FCS_CONSTRAINT_LUMINANCE
        return self._solve(image, constraint, steps, seed, prompt, newton_steps, learning_rates, fd_step,
                           guidance_scale, official_timesteps, noise, progress, sampler)

    def solve(self, image_or_shape, constraint, *, steps=20, seed=None, prompt="", newton_steps=None,
              learning_rates=None, fd_step=0.005, guidance_scale=0.0, official_timesteps=False, noise=None,
              progress=None, sampler="paper"):
        """Samples an image under the caller's constraint.

        image_or_shape: an image (only its size, kind and dtype are used) or (height, width); the
        result is then that kind of image, or an H×W×3 float32 array.
        constraint: fn(x0) called before each inner step with x0, the current estimate D(x̂0) as an
        H×W×3 float32 array in 0…1 (not clamped, a copy). It returns the change x0 should make
        (H×W×3; only its direction matters), or (change, weight) with an H×W weight ≥ 0 that
        multiplies it (0 = unconstrained). fcs carries the change into the model's latent space
        (the VAE-Newton transport); the GIL is held only while fn runs. An exception fn raises
        cancels sampling and is re-raised.
        """
        if not callable(constraint):
            raise TypeError("constraint must be a callable fn(x0) -> change")
        description = lib.fcs_constraint_default()
        description.kind = FCS_CONSTRAINT_CALLBACK
        image = image_or_shape
        if isinstance(image_or_shape, tuple) and len(image_or_shape) == 2 and all(isinstance(n, int) for n in image_or_shape):
            image = None
            description.height, description.width = image_or_shape
        return self._solve(image, description, steps, seed, prompt, newton_steps, learning_rates, fd_step,
                           guidance_scale, official_timesteps, noise, progress, sampler, constraint=constraint)

    def _solve(self, image, description, steps, seed, prompt, newton_steps, learning_rates, fd_step, guidance_scale,
               official_timesteps, noise, progress, sampler, constraint=None):
        """fcs_solve with description (and the Python constraint behind a callback)."""
        struct = keep = None
        kind = "numpy"
        if image is not None:
            struct, keep, kind = to_fcs_image(image, "image")
        with _SampleParams(steps, seed, prompt, newton_steps, learning_rates, fd_step, guidance_scale,
                           official_timesteps, noise, progress, sampler) as params:
            if constraint is not None:
                callback = ConstraintCallback(functools.partial(_call_constraint, constraint, params))
                description.callback = callback
            out = Image()
            params.call(lib.fcs_solve, self._model(), ctypes.byref(struct) if struct is not None else None,
                        ctypes.byref(description), ctypes.byref(params.value), ctypes.byref(out), outputs=[out])
        del keep
        return from_fcs_image(out, kind)

    def extract_layers(self, image, *, hint=None, iterations=3, samples_per_layer=3, restarts=2, block_size=64,
                       steps=10, seed=None, prompt="", newton_steps=None, learning_rates=None, fd_step=0.005,
                       guidance_scale=0.0, progress=None, sampler="paper"):
        """Splits image into (layer1, layer2, mask) with image ≈ mask·layer1 + (1 − mask)·layer2.

        fcs's reconstruction of the v1 paper's EM procedure; hint (optional) is a mask of layer 1
        that replaces the random start.
        """
        struct, keep, kind = to_fcs_image(image, "image")
        hint_struct = keep_hint = None
        if hint is not None:
            hint_struct, keep_hint, _ = to_fcs_image(hint, "hint")
        with _SampleParams(steps, seed, prompt, newton_steps, learning_rates, fd_step, guidance_scale,
                           False, None, progress, sampler) as params:
            layer_params = lib.fcs_layer_params_default()
            layer_params.sample = params.value
            layer_params.iterations, layer_params.samples_per_layer = iterations, samples_per_layer
            layer_params.restarts, layer_params.block_size = restarts, block_size
            layer_params.hint = ctypes.pointer(hint_struct) if hint_struct is not None else None
            outs = [Image(), Image(), Image()]
            params.call(lib.fcs_extract_layers, self._model(), ctypes.byref(struct), ctypes.byref(layer_params),
                        *(ctypes.byref(o) for o in outs), outputs=outs)
        del keep, keep_hint
        return tuple(from_fcs_image(o, kind) for o in outs)


def _call_constraint(constraint, params, estimate, change, weight, _user_data):
    """fcs_constraint_callback for a Python fn(x0): copies D(x̂0) out and fn's change (and weight)
    in. An exception cannot cross C: it is kept on params, cancels (non-zero), and is re-raised."""
    try:
        height, width = estimate.contents.height, estimate.contents.width
        def view(image, channels):
            return np.ctypeslib.as_array(ctypes.cast(image.contents.data, ctypes.POINTER(ctypes.c_float)),
                                         shape=(height, width, channels))
        answer = constraint(view(estimate, 3).copy())
        delta, mask = answer if isinstance(answer, tuple) else (answer, None)
        delta = np.asarray(delta, dtype=np.float32)
        if delta.shape != (height, width, 3):
            raise ValueError(f"constraint returned a change of shape {delta.shape}, not {(height, width, 3)}")
        view(change, 3)[...] = delta
        if mask is not None:
            mask = np.asarray(mask, dtype=np.float32)
            if mask.shape not in ((height, width), (height, width, 1)):
                raise ValueError(f"constraint returned a weight of shape {mask.shape}, not {(height, width)}")
            view(weight, 1)[...] = mask.reshape(height, width, 1)
        return 0
    except BaseException as error:
        if params._error is None:
            params._error = error
        return 1


class _SampleParams:
    """fcs_sample_params for one call, with what must outlive it (callback, rates, noise file).

    Progress and cancellation: fcs calls the progress callback before every network forward,
    repeating the step, so the tqdm bar or the caller's progress(step, total) hears of a step only
    when it changes. An exception the caller's progress raises, and a Ctrl-C, cancel the call at
    the next forward (the callback returns non-zero) and are re-raised once fcs has returned.
    Ctrl-C: while fcs runs on the main thread, SIGINT's Python handler is wrapped so that its
    KeyboardInterrupt is kept for later instead of being raised inside the ctypes callback (where
    it would be printed as "Exception ignored" and lost).
    """

    def __init__(self, steps, seed, prompt, newton_steps, learning_rates, fd_step, guidance_scale,
                 official_timesteps, noise, progress, sampler="paper"):
        value = lib.fcs_sample_params_default()
        sampler_value = ctypes.c_int()
        check(lib.fcs_sampler_from_name(str(sampler).encode(), ctypes.byref(sampler_value)))
        value.sampler = sampler_value.value
        value.steps = steps
        value.seed = random.getrandbits(64) if seed is None else seed
        value.prompt = prompt.encode()
        value.newton_steps = -1 if newton_steps is None else newton_steps
        if learning_rates is not None:
            self._rates = (ctypes.c_float * len(learning_rates))(*learning_rates)
            value.learning_rates, value.n_learning_rates = self._rates, len(learning_rates)
        value.fd_step, value.guidance_scale = fd_step, guidance_scale
        value.official_timesteps = int(bool(official_timesteps))
        self._noise_path, self._temporary = noise_file(noise) if noise is not None else (None, False)
        if self._noise_path:
            value.noise_path = os.fsencode(self._noise_path)
        self._progress, self._bar, self._step = progress, None, 0
        self._stop = False     # the caller's progress returned False
        self._error = None     # an exception to raise once fcs has returned
        self._callback = ProgressCallback(self._on_progress)
        value.progress = self._callback
        self.value = value

    def _on_progress(self, step, total, _user_data):
        try:
            if self._error is None and not self._stop:
                if self._progress is True and self._bar is None:
                    from tqdm import tqdm
                    self._bar = tqdm(total=total, unit="step")
                if step != self._step:
                    self._step = step
                    if self._progress is True:
                        self._bar.update(step - self._bar.n)
                    elif self._progress and self._progress(step, total) is False:
                        self._stop = True
        except BaseException as error:  # an exception cannot cross C: cancel, re-raise after
            self._error = error
        return 1 if self._error is not None or self._stop else 0

    def _on_sigint(self, previous, signum, frame):
        try:
            previous(signum, frame)
        except BaseException as error:
            if self._error is None:
                self._error = error

    def call(self, function, *args, outputs=()):
        """function(*args) with the GIL released; raises what cancelled it, or its status's error.
        outputs (the fcs_images it fills) are freed when it raises."""
        previous = signal.getsignal(signal.SIGINT)
        wrap = callable(previous) and threading.current_thread() is threading.main_thread()
        if wrap:
            signal.signal(signal.SIGINT, functools.partial(self._on_sigint, previous))
        try:
            try:
                status = function(*args)
            finally:
                if wrap:
                    signal.signal(signal.SIGINT, previous)
            error, self._error = self._error, None
            if error is not None:
                raise error
            check(status)
        except BaseException:
            for output in outputs:
                lib.fcs_image_free(ctypes.byref(output))
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.close()
        if self._temporary:
            os.unlink(self._noise_path)
