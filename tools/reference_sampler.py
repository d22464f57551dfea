#!/usr/bin/env python3
"""A reference implementation of fast constrained sampling, written from shared/spec/algorithm.md
(§2.1 loop, §2.3 stochastic step, §2.4 guidance, §3.2 inpainting) on the diffusers modules — not
from the Swift code — run on the tiny model of tools/make_tiny_models.py with injected noise.

Writes Tests/FCSSamplerTests/Fixtures/inpaint_reference.safetensors: the inputs (image, fill
mask, noise in fcs's noise-file layout `x_T`, `z_0`, `z_1`, …) and the final x̂0 of each
inpainting case, and of a ×4 super-resolution run (VAE-Newton, §3.4; `superres.*`).

Writes Tests/FCSSamplerTests/Fixtures/outer_reference.safetensors: the default inpainting case
with diffusers' DPMSolverMultistepScheduler (dpmsolver++, order 2) and LCMScheduler as the outer
step (`from_config` on the tiny model's scheduler config): the inner Newton loop corrects x_t,
then the scheduler's own `step` takes ε̃ at the corrected x_t (LCM: with the step's z drawn from
the generator it is given; its Newton loop corrects the consistency output c_out·x̂0 + c_skip·x_t).

    .venv-tools/bin/python tools/reference_sampler.py
"""
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, LCMScheduler, UNet2DConditionModel
from resize_right import interp_methods, resize
from safetensors.torch import save_file
from transformers import CLIPTextModel, CLIPTokenizer

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "Tests/FCSModelsTests/Fixtures/tiny-sd"
OUT = ROOT / "Tests/FCSSamplerTests/Fixtures/inpaint_reference.safetensors"
OUTER_OUT = ROOT / "Tests/FCSSamplerTests/Fixtures/outer_reference.safetensors"
# outer sampler: steps (the Swift test reads them back from the metadata)
OUTER_CASES = {"dpm++2m": 4, "lcm": 3}
OUTER_NEWTON = dict(newton_steps=2, learning_rates=[0.5, 0.1], h=0.005)
STEPS = 2

# name: parameters (the Swift test reads them back from the metadata). The guided case uses
# h = 0.1: with guidance the tiny random model's x̂0 reaches |60| at t = 1000, where h = 0.01
# makes the finite difference as small as the float32 rounding differences of two UNet
# implementations; 0.1 keeps the comparison about the algorithm.
CASES = {
    "default": dict(prompt="", guidance_weight=0.0, convention="consistent", newton_steps=5,
                    learning_rates=[0.5, 0.4, 0.3, 0.2, 0.1], h=0.005),
    "guided_official": dict(prompt="a photograph of an astronaut riding a horse", guidance_weight=2.0,
                            convention="official", newton_steps=3, learning_rates=[0.5, 0.3], h=0.1),
}


def schedule():
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    return betas.float(), torch.cumprod(1 - betas, 0).float()


def text_states(tokenizer, text_encoder, prompt):
    ids = tokenizer(prompt, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    return text_encoder(ids).last_hidden_state


def inpainting_constraint(vae, image, fill_mask):
    known = 1 - (fill_mask != 0).float()                            # the paper's m: 1 = known
    latent_mask = (F.avg_pool2d(known, 8) == 1).float().repeat(1, 4, 1, 1)
    z_y = vae.config.scaling_factor * vae.encode(image * known).latent_dist.mean
    return lambda x0: latent_mask * (z_y - x0)


def resizer(scale):
    """resize-right with the official conventions (cubic, antialias, symmetric borders), §3.3."""
    def apply(x):
        out = resize(x.numpy(), scale_factors=[1, 1, scale, scale], interp_method=interp_methods.cubic,
                     antialiasing=True, pad_mode="symmetric")
        return torch.from_numpy(np.ascontiguousarray(out)).float()
    return apply


def super_resolution_constraint(vae, y, factor, h=0.005):
    """VAE-Newton transport of the pixel residual (spec §3.4), encoder posterior means."""
    s = vae.config.scaling_factor
    down, up = resizer(1 / factor), resizer(factor)

    def error(x0):
        img = vae.decode(x0 / s).sample
        r = up(y - down(img))
        r = r / r.abs().max()
        return s * (vae.encode(img + h * r).latent_dist.mean - vae.encode(img).latent_dist.mean)
    return error


def sample(unet, error, cond, uncond, x_T, zs, p, observe=None, prediction_type="epsilon"):
    """The final x̂0; observe(n, k, x0), if given, sees x̂0 of outer step n after k inner steps.
    prediction_type "v_prediction": the UNet's output is v (SD 2.x 768-v), x̂0 = √ᾱ·x − √(1−ᾱ)·v and
    ε = √ᾱ·v + √(1−ᾱ)·x; guidance combines v as it combines ε."""
    betas, alphas_cumprod = schedule()
    stride = 1000 // STEPS
    w = p["guidance_weight"]

    def eps_tilde(x, t):
        if w > 1:
            e = unet(torch.cat([x, x]), t, encoder_hidden_states=torch.cat([uncond, cond])).sample
            return (1 + w) * e[1:] - w * e[:1]
        return unet(x, t, encoder_hidden_states=cond).sample

    x = x_T
    for n, t in enumerate(range(1000, 0, -stride)):
        a, ap = alphas_cumprod[t - 1], alphas_cumprod[max(t - 1 - stride, 1)]
        bt = betas[t - 1] * (1 - ap) / (1 - a)
        unet_t = t - 1 if p["convention"] == "consistent" else t

        def predict(x):
            e = eps_tilde(x, unet_t)
            if prediction_type == "v_prediction":
                return a.sqrt() * x - (1 - a).sqrt() * e, a.sqrt() * e + (1 - a).sqrt() * x
            return x / a.sqrt() - e * ((1 - a) / a).sqrt(), e

        x0, eps = predict(x)
        if observe:
            observe(n, 0, x0)
        for k in range(p["newton_steps"]):
            e = error(x0)
            if e.abs().max() == 0:
                break
            delta = p["h"] / e.abs().max()
            v = (predict(x + delta * e)[0] - x0) / delta
            v = v / v.abs().max()
            x = x + p["learning_rates"][min(k, len(p["learning_rates"]) - 1)] * v
            x0, eps = predict(x)
            if observe:
                observe(n, k + 1, x0)
        x = ap.sqrt() * x0 + (1 - ap - bt).sqrt() * eps + bt.sqrt() * zs[n]
    return x0


def sample_outer(unet, error, cond, x_T, kind, steps, p):
    """The loop of sample() (no guidance, the consistent convention) with a diffusers scheduler's
    step as the outer step; returns the final x̂0 and the z each step drew."""
    config = json.loads((TINY / "scheduler/scheduler_config.json").read_text())
    scheduler = (DPMSolverMultistepScheduler if kind == "dpm++2m" else LCMScheduler).from_config(config)
    scheduler.set_timesteps(steps)
    generator = torch.Generator().manual_seed(7)
    x, zs = x_T, []
    for t in scheduler.timesteps:
        a = scheduler.alphas_cumprod[t]

        def predict(x):
            e = unet(x, t, encoder_hidden_states=cond).sample
            x0 = (x - (1 - a).sqrt() * e) / a.sqrt()
            if kind == "lcm":
                c_skip, c_out = scheduler.get_scalings_for_boundary_condition_discrete(t)
                x0 = c_out * x0 + c_skip * x
            return x0, e

        x0, eps = predict(x)
        for k in range(p["newton_steps"]):
            e = error(x0)
            delta = p["h"] / e.abs().max()
            v = (predict(x + delta * e)[0] - x0) / delta
            x = x + p["learning_rates"][min(k, len(p["learning_rates"]) - 1)] * v / v.abs().max()
            x0, eps = predict(x)
        state = generator.get_state()
        zs.append(torch.randn(x.shape, generator=generator))
        generator.set_state(state)
        out = scheduler.step(eps, t, x, generator=generator) if kind == "lcm" else scheduler.step(eps, t, x)
        x = out.prev_sample
        if kind == "lcm":
            x0 = out.denoised
    return x0, zs


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    unet = UNet2DConditionModel.from_pretrained(TINY / "unet").eval()
    vae = AutoencoderKL.from_pretrained(TINY / "vae").eval()
    text_encoder = CLIPTextModel.from_pretrained(TINY / "text_encoder").eval()
    tokenizer = CLIPTokenizer.from_pretrained(TINY / "tokenizer")
    # a smooth image and a mask that fills the right half and a corner block
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 64), torch.linspace(-1, 1, 64), indexing="ij")
    image = torch.stack([torch.sin(3 * xx), torch.cos(2 * yy), xx * yy]).unsqueeze(0).clamp(-1, 1)
    fill_mask = torch.zeros(1, 1, 64, 64)
    fill_mask[..., 36:] = 1
    fill_mask[..., :12, :12] = 1
    x_T = torch.randn(1, 4, 8, 8)
    zs = [torch.randn(1, 4, 8, 8) for _ in range(STEPS)]
    tensors = {"image": image, "fill_mask": fill_mask, "x_T": x_T} | {f"z_{i}": z for i, z in enumerate(zs)}
    with torch.no_grad():
        error = inpainting_constraint(vae, image, fill_mask)
        uncond = text_states(tokenizer, text_encoder, "")
        for name, p in CASES.items():
            cond = text_states(tokenizer, text_encoder, p["prompt"])
            tensors[f"{name}.x0"] = sample(unet, error, cond, uncond, x_T, zs, p)
        # super-resolution ×4 of a 16×16 image (spec §3.4 defaults but K = 3 to keep the test short,
        # and an encoder step vae_h of 0.05: at 0.005 the encoder difference is small enough for
        # float32 rounding of two VAE implementations to show at 1e-3)
        y = image[..., ::4, ::4].contiguous()
        sr = dict(prompt="", guidance_weight=0.0, convention="consistent", newton_steps=3, learning_rates=[0.5], h=0.005, vae_h=0.05)
        tensors["superres.low"] = y
        tensors["superres.x0"] = sample(unet, super_resolution_constraint(vae, y, 4, h=sr["vae_h"]),
                                        text_states(tokenizer, text_encoder, ""), uncond, x_T, zs, sr)
        CASES_SR = {"superres": sr | {"factor": 4}}
    save_file({k: v.contiguous() for k, v in tensors.items()}, OUT,
              metadata={"steps": str(STEPS), "cases": json.dumps(CASES, sort_keys=True),
                        "superres": json.dumps(CASES_SR["superres"], sort_keys=True)})
    print(f"{OUT.relative_to(ROOT)}: {OUT.stat().st_size} bytes; cases {list(CASES)}")
    outer = {}
    with torch.no_grad():
        for kind, steps in OUTER_CASES.items():
            x0, zs = sample_outer(unet, error, uncond, x_T, kind, steps, OUTER_NEWTON)
            outer |= {f"{kind}.x0": x0} | {f"{kind}.z_{i}": z for i, z in enumerate(zs)}
    save_file({k: v.contiguous() for k, v in outer.items()}, OUTER_OUT,
              metadata={"cases": json.dumps(OUTER_CASES), "newton": json.dumps(OUTER_NEWTON)})
    print(f"{OUTER_OUT.relative_to(ROOT)}: {OUTER_OUT.stat().st_size} bytes; cases {list(OUTER_CASES)}")


if __name__ == "__main__":
    main()
