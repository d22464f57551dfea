"""fcs.Model: a loaded Stable Diffusion 1.x model and its tasks.

Every keyword argument is named as its field of fcs_model_params, fcs_sample_params or
fcs_layer_params (Include/fcs.h), and None — the default of each — leaves the field as
fcs_*_params_default() sets it: the header's FCS_DEFAULT_* values (fcs.defaults() lists them).
The one exception is seed: None draws a new random one, as the fcs command and vips do.
"""
import ctypes
import functools
import os
import random
import signal
import threading

import numpy as np

from ._images import Like, from_fcs_image, to_fcs_image
from ._library import (FCS_CONSTRAINT_CALLBACK, FCS_CONSTRAINT_GAUSSIAN_BLUR, FCS_CONSTRAINT_KERNEL_BLUR,
                       FCS_CONSTRAINT_LUMINANCE, METHODS, VARIANTS, WEIGHT_TYPES, ConstraintCallback, Image,
                       ProgressCallback, check, lib)
from ._noise import noise_file


def _choice(argument, names, name):
    """The C value of an enum-valued argument given by name."""
    if name not in names:
        raise ValueError(f"{argument} must be one of {list(names)}, not {name!r}")
    return names.index(name)


def _named(argument, from_name, name):
    """The C value of a sampler or precision name, by fcs's own fcs_*_from_name."""
    value = ctypes.c_int()
    check(from_name(str(name).encode(), ctypes.byref(value)))
    return value.value


class Model:
    """A model loaded once and shared: any number of threads may sample with it at once (the GIL
    is released while fcs runs).

    path: a diffusers folder, a single-file .safetensors checkpoint, or a model name already in
    the Hugging Face hub cache ("demo": the small model built into fcs). weight_type: "f32"
    (fastest) or "f16" (less memory), for fp32 compute. variant: which files of a diffusers folder
    to read, "auto", "fp16" or "fp32". precision: the compute precision, "auto" (fcs's choice for
    this CPU: bf16 where it has AVX512_BF16, else fp32), "fp32", or "bf16" (bfloat16 products with
    float32 sums, bf16 weights: about twice as fast on CPUs with AVX512_BF16, slower without).
    config_folder: for a single-file checkpoint, a diffusers folder with any of unet/, vae/,
    text_encoder/ config.json, tokenizer/ and scheduler/scheduler_config.json; what it lacks (all,
    for None) is inferred from the file's tensors. SD 2.x files need the scheduler config: their
    weights do not say whether they predict epsilon or v.
    transport_vae: a diffusers AutoencoderTiny (TAESD) folder or hub-cache name, e.g.
    "madebyollin/taesd", that super-resolution's inner loop uses instead of the model's VAE (the
    final decode stays the VAE's); None = the VAE throughout. Its effect on quality is untested.
    lora_paths: LoRA .safetensors files (diffusers/PEFT or kohya format, e.g. LCM-LoRA) merged into
    the weights at load, W += scale * alpha / rank * up @ down, with lora_scales (one per file;
    None: 1 each).
    """

    def __init__(self, path, *, weight_type=None, variant=None, config_folder=None, transport_vae=None,
                 lora_paths=None, lora_scales=None, precision=None):
        params = lib.fcs_model_params_default()
        if weight_type is not None:
            params.weight_type = _choice("weight_type", WEIGHT_TYPES, weight_type)
        if variant is not None:
            params.variant = _choice("variant", VARIANTS, variant)
        if precision is not None:
            params.precision = _named("precision", lib.fcs_precision_from_name, precision)
        if config_folder is not None:
            params.config_folder = os.fsencode(config_folder)
        if transport_vae is not None:
            params.transport_vae = os.fsencode(transport_vae)
        paths = [os.fsencode(path) for path in (lora_paths or ())]
        scales = [1.0] * len(paths) if lora_scales is None else [float(scale) for scale in lora_scales]
        if len(scales) != len(paths):
            raise ValueError(f"lora_scales has {len(scales)} values for {len(paths)} lora_paths")
        path_array = (ctypes.c_char_p * len(paths))(*paths)
        scale_array = (ctypes.c_float * len(scales))(*scales)
        if paths:
            params.lora_paths, params.lora_scales, params.n_loras = path_array, scale_array, len(paths)
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

    def inpaint(self, image, mask, *, seed=None, steps=None, newton_steps=None, learning_rates=None, fd_step=None,
                prompt=None, guidance_scale=None, official_timesteps=None, paste_back=None, seam_width=None,
                context_crop_above=None, context_size=None, method=None, noise_path=None, sampler=None, progress=None):
        """Fills the pixels where mask is set (≥ half its range: white, or True) and returns the image.

        image: H×W×C (C = 1, 3, 4) numpy array (uint8, uint16, float 0…1 or bool), PIL or pyvips
        image; the result has its kind, dtype and channels (alpha kept). seed: None draws a random
        one. newton_steps (K) and learning_rates are the inner correction loop. paste_back keeps
        known pixels exactly, with a seam of seam_width pixels; images whose longer side exceeds
        context_crop_above are sampled through a context window of at most context_size.
        noise_path: a safetensors path, or a dict of arrays, with x_T and z_0 … z_{steps-1}
        instead of the seed's noise. progress: True for a tqdm bar, or a callable(step, total),
        called once as each step completes, that returns False to cancel (fcs.Cancelled). An
        exception it raises, or Ctrl-C, cancels within one network forward and is re-raised.
        method: "constrained" (fcs) or "replacement" (the baseline, for comparisons).
        sampler: the outer step, "paper" (the paper's), "dpm++2m" (DPM-Solver++(2M), about 10
        steps) or "lcm" (LCM checkpoints, 4–8 steps); the other tasks take it too.
        """
        fields = {name: value for name, value in locals().items() if name in _SAMPLE_FIELDS}
        struct, keep_image, like = to_fcs_image(image, "image")
        mask_struct, keep_mask, _ = to_fcs_image(mask, "mask")
        with _SampleParams(lib.fcs_sample_params_default(), fields, progress) as params:
            out = Image()
            params.call(lib.fcs_inpaint, self._model(), ctypes.byref(struct), ctypes.byref(mask_struct),
                        ctypes.byref(params.value), ctypes.byref(out), outputs=[out])
        del keep_image, keep_mask
        return from_fcs_image(out, like)

    def super_resolve(self, image, scale, *, seed=None, steps=None, newton_steps=None, learning_rates=None,
                      fd_step=None, prompt=None, guidance_scale=None, official_timesteps=None, noise_path=None,
                      sampler=None, progress=None):
        """Upscales image by scale (2, 4 or 8): VAE-Newton, with the task's K and λ unless given."""
        fields = {name: value for name, value in locals().items() if name in _SAMPLE_FIELDS}
        struct, keep, like = to_fcs_image(image, "image")
        with _SampleParams(lib.fcs_sample_params_default(), fields, progress) as params:
            out = Image()
            params.call(lib.fcs_super_resolve, self._model(), ctypes.byref(struct), int(scale),
                        ctypes.byref(params.value), ctypes.byref(out), outputs=[out])
        del keep
        return from_fcs_image(out, like)

    def deblur(self, image, *, sigma=None, kernel=None, seed=None, steps=None, newton_steps=None, learning_rates=None,
               fd_step=None, prompt=None, guidance_scale=None, official_timesteps=None, noise_path=None, sampler=None,
               progress=None):
        """Removes a known blur: a Gaussian of standard deviation sigma (pixels), or kernel, the
        point-spread function as an H×W array or image (odd sides; scaled to sum 1). The blur's
        adjoint carries the residual back; K and λ default as super_resolve's."""
        fields = {name: value for name, value in locals().items() if name in _SAMPLE_FIELDS}
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
        result = self._solve(image, constraint, fields, progress)
        del keep_kernel
        return result

    def colorize(self, image, *, seed=None, steps=None, newton_steps=None, learning_rates=None, fd_step=None, prompt=None,
                 guidance_scale=None, official_timesteps=None, noise_path=None, sampler=None, progress=None):
        """Colours a grey image (of a colour image, its Rec. 601 luminance is used); the result is
        colour (H×W×3 for a grey array) with the input's luminance. K and λ default as super_resolve's."""
        fields = {name: value for name, value in locals().items() if name in _SAMPLE_FIELDS}
        constraint = lib.fcs_constraint_default()
        constraint.kind = FCS_CONSTRAINT_LUMINANCE
        return self._solve(image, constraint, fields, progress)

    def solve(self, image_or_shape, constraint, *, seed=None, steps=None, newton_steps=None, learning_rates=None,
              fd_step=None, prompt=None, guidance_scale=None, official_timesteps=None, noise_path=None, sampler=None,
              progress=None):
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
        fields = {name: value for name, value in locals().items() if name in _SAMPLE_FIELDS}
        if not callable(constraint):
            raise TypeError("constraint must be a callable fn(x0) -> change")
        description = lib.fcs_constraint_default()
        description.kind = FCS_CONSTRAINT_CALLBACK
        image = image_or_shape
        if isinstance(image_or_shape, tuple) and len(image_or_shape) == 2 and all(isinstance(n, int) for n in image_or_shape):
            image = None
            description.height, description.width = image_or_shape
        return self._solve(image, description, fields, progress, constraint=constraint)

    def _solve(self, image, description, fields, progress, constraint=None):
        """fcs_solve with description (and the Python constraint behind a callback)."""
        struct = keep = None
        like = Like("numpy", np.float32)  # a shape alone: an F32 array
        if image is not None:
            struct, keep, like = to_fcs_image(image, "image")
        with _SampleParams(lib.fcs_sample_params_default(), fields, progress) as params:
            if constraint is not None:
                callback = ConstraintCallback(functools.partial(_call_constraint, constraint, params))
                description.callback = callback
            out = Image()
            params.call(lib.fcs_solve, self._model(), ctypes.byref(struct) if struct is not None else None,
                        ctypes.byref(description), ctypes.byref(params.value), ctypes.byref(out), outputs=[out])
        del keep
        return from_fcs_image(out, like)

    def extract_layers(self, image, *, hint=None, iterations=None, samples_per_layer=None, restarts=None,
                       block_size=None, seed=None, steps=None, newton_steps=None, learning_rates=None, fd_step=None,
                       prompt=None, guidance_scale=None, official_timesteps=None, sampler=None, progress=None):
        """Splits image into (layer1, layer2, mask) with image ≈ mask·layer1 + (1 − mask)·layer2.

        fcs's reconstruction of the v1 paper's EM procedure; hint (optional) is a mask of layer 1
        that replaces the random start.
        """
        fields = {name: value for name, value in locals().items() if name in _SAMPLE_FIELDS}
        layer_fields = {name: value for name, value in locals().items() if name in _LAYER_FIELDS and value is not None}
        struct, keep, like = to_fcs_image(image, "image")
        hint_struct = keep_hint = None
        if hint is not None:
            hint_struct, keep_hint, _ = to_fcs_image(hint, "hint")
        layer_params = lib.fcs_layer_params_default()
        with _SampleParams(layer_params.sample, fields, progress) as params:
            layer_params.sample = params.value
            for name, value in layer_fields.items():
                setattr(layer_params, name, int(value))
            layer_params.hint = ctypes.pointer(hint_struct) if hint_struct is not None else None
            outs = [Image(), Image(), Image()]
            params.call(lib.fcs_extract_layers, self._model(), ctypes.byref(struct), ctypes.byref(layer_params),
                        *(ctypes.byref(o) for o in outs), outputs=outs)
        del keep, keep_hint
        return tuple(from_fcs_image(o, like) for o in outs)


def _flag(value):
    return int(bool(value))


# The fcs_sample_params fields the tasks take as keyword arguments, each with its conversion to
# the C value (seed, learning_rates and noise_path are converted by _SampleParams itself).
_SAMPLE_FIELDS = {
    "seed": None, "steps": int, "newton_steps": int, "learning_rates": None, "fd_step": float,
    "prompt": lambda text: str(text).encode(), "guidance_scale": float, "official_timesteps": _flag,
    "paste_back": _flag, "seam_width": int, "context_crop_above": int, "context_size": int,
    "method": lambda name: _choice("method", METHODS, name), "noise_path": None,
    "sampler": lambda name: _named("sampler", lib.fcs_sampler_from_name, name),
}
# fcs_layer_params' own fields (hint is an image, converted by extract_layers).
_LAYER_FIELDS = ("iterations", "samples_per_layer", "restarts", "block_size")


def defaults():
    """The library's defaults — what None stands for — by argument name: fcs_model_params_default(),
    fcs_sample_params_default() and fcs_layer_params_default() (keyed "extract_layers.steps" where
    layer extraction's differs), enums by their names."""
    model, sample, layer = lib.fcs_model_params_default(), lib.fcs_sample_params_default(), lib.fcs_layer_params_default()
    values = {
        "weight_type": WEIGHT_TYPES[model.weight_type], "variant": VARIANTS[model.variant],
        "precision": lib.fcs_precision_name(model.precision).decode(),
        "seed": sample.seed, "steps": sample.steps, "newton_steps": sample.newton_steps, "fd_step": sample.fd_step,
        "guidance_scale": sample.guidance_scale, "official_timesteps": bool(sample.official_timesteps),
        "paste_back": bool(sample.paste_back), "seam_width": sample.seam_width,
        "context_crop_above": sample.context_crop_above, "context_size": sample.context_size,
        "method": METHODS[sample.method], "sampler": lib.fcs_sampler_name(sample.sampler).decode(),
        "extract_layers.steps": layer.sample.steps,
    }
    values.update({name: getattr(layer, name) for name in _LAYER_FIELDS})
    return values


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

    def __init__(self, value, fields, progress):
        """value: the default struct to start from; fields: the task's keyword arguments (None: keep)."""
        for name, convert in _SAMPLE_FIELDS.items():
            if convert is not None and fields.get(name) is not None:
                setattr(value, name, convert(fields[name]))
        seed, rates, noise = fields.get("seed"), fields.get("learning_rates"), fields.get("noise_path")
        value.seed = random.getrandbits(64) if seed is None else int(seed)
        if rates is not None:
            self._rates = (ctypes.c_float * len(rates))(*rates)
            value.learning_rates, value.n_learning_rates = self._rates, len(rates)
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
