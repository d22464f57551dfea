#!/usr/bin/env python3
"""Writes Tests/FCSModelsTests/Fixtures/tiny-taesd/: a tiny diffusers AutoencoderTiny (the TAESD
architecture, narrow: 16 channels, 4 stages, so 8x like the tiny SD model's VAE) and PyTorch
reference outputs, for fcs's AutoencoderTiny parity test and its super-resolution transport tests.

    tiny-taesd/config.json                                as AutoencoderTiny.save_pretrained writes it
    tiny-taesd/diffusion_pytorch_model.safetensors        F32
    tiny-taesd/diffusion_pytorch_model.fp16.safetensors   F16, the same values (weights are rounded to half first)
    tiny-taesd/reference.safetensors                      inputs and outputs (F32), described in its __metadata__

and Tests/FCSSamplerTests/Fixtures/taesd_superres_reference.safetensors: a x4 super-resolution run of
tools/reference_sampler.py on the tiny SD model with this TAESD doing the VAE-Newton transport (spec
section 3.4 with D and E the TAESD's; the final x-hat-0 before any decode), with its noise and parameters.

Run with the reference environment:

    /work/venv-ref/bin/python tools/make_tiny_taesd.py

Weights: torch.manual_seed(0), diffusers' initialisation, then distilled for a few hundred Adam steps
towards the tiny SD model's VAE (tools/make_tiny_models.py) as TAESD is towards SD's: the encoder to
scaling_factor * the VAE's posterior mean of images the VAE decoded, the decoder to the VAE's decoding
of latents / scaling_factor. So the tiny TAESD lives in the tiny SD UNet's latent space, as the real
one does in SD's, and can stand in for the VAE in super-resolution's transport; the script prints how
close it gets. Then every parameter is rounded to float16, so that both weight files hold the same
values and the reference outputs hold for either.
"""
import json
from pathlib import Path

import torch
from diffusers import AutoencoderKL, AutoencoderTiny
from safetensors.torch import load_file, save_file

import reference_sampler

ROOT = Path(__file__).resolve().parent.parent
TINY_SD = ROOT / "Tests/FCSModelsTests/Fixtures/tiny-sd"
OUT = ROOT / "Tests/FCSModelsTests/Fixtures/tiny-taesd"
CONFIG = dict(encoder_block_out_channels=(16, 16, 16, 16), decoder_block_out_channels=(16, 16, 16, 16),
              num_encoder_blocks=(1, 2, 1, 1), num_decoder_blocks=(1, 1, 2, 1), latent_channels=4, act_fn="relu")
DISTILL_STEPS = 600
SUPERRES_OUT = ROOT / "Tests/FCSSamplerTests/Fixtures/taesd_superres_reference.safetensors"


def distill(taesd, vae):
    """Adam on batches of the VAE's own decodings (the images super-resolution encodes) and latents."""
    s = vae.config.scaling_factor
    optimizer = torch.optim.Adam(taesd.parameters(), lr=2e-3)
    for step in range(DISTILL_STEPS):
        with torch.no_grad():
            z = torch.randn(8, 4, 8, 8)                       # unscaled latents, as the posterior has them
            images = vae.decode(z).sample.clamp(-1, 1)
            target_latents = s * vae.encode(images).latent_dist.mean
        encoded = taesd.encode(images).latents
        decoded = taesd.decode(s * z).sample
        loss = (encoded - target_latents).pow(2).mean() / target_latents.var() + (decoded - images).pow(2).mean() / images.var()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 100 == 0 or step == DISTILL_STEPS - 1:
            print(f"  distill step {step}: relative MSE (encoder + decoder) {loss.item():.4f}")


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)  # identical bytes on every run
    vae = AutoencoderKL.from_pretrained(TINY_SD / "vae").eval()
    vae.requires_grad_(False)
    taesd = AutoencoderTiny(**CONFIG)
    distill(taesd, vae)
    taesd.eval()
    with torch.no_grad():
        for parameter in taesd.parameters():
            parameter.copy_(parameter.half().float())
    OUT.mkdir(parents=True, exist_ok=True)
    taesd.save_pretrained(OUT, safe_serialization=True)
    state = taesd.state_dict()
    save_file({k: v.half().contiguous() for k, v in state.items()}, OUT / "diffusion_pytorch_model.fp16.safetensors")

    tensors, descriptions = {}, {}

    def put(name, tensor, description):
        tensors[name] = tensor.detach().float().contiguous()
        descriptions[name] = description

    with torch.no_grad():
        image = torch.rand(1, 3, 48, 40) * 2 - 1
        put("enc.image", image, "[1,3,48,40] U(-1,1) image (non-square, to catch a swapped height and width)")
        put("enc.latents", taesd.encode(image).latents, "[1,4,6,5] taesd.encode(enc.image).latents")
        latents = torch.randn(1, 4, 6, 5) * 2
        put("dec.latents", latents, "[1,4,6,5] 2 N(0,1) latents (beyond the decoder's soft clamp at ±3 in places)")
        put("dec.out", taesd.decode(latents).sample, "[1,3,48,40] taesd.decode(dec.latents).sample")
        # how well the tiny TAESD stands in for the tiny VAE, on the VAE's decodings
        s = vae.config.scaling_factor
        z = torch.randn(4, 4, 8, 8)
        images = vae.decode(z).sample.clamp(-1, 1)
        target = s * vae.encode(images).latent_dist.mean
        print(f"  on new latents: encoder relative error {((taesd.encode(images).latents - target).norm() / target.norm()).item():.3f}, "
              f"decoder relative error {((taesd.decode(s * z).sample - images).norm() / images.norm()).item():.3f}")
    save_file(tensors, OUT / "reference.safetensors", metadata={"descriptions": json.dumps(descriptions, sort_keys=True)})

    # the folder, reloaded by diffusers in either variant, reproduces the reference
    for variant in (None, "fp16"):
        again = AutoencoderTiny.from_pretrained(OUT, variant=variant, torch_dtype=torch.float32).eval()
        with torch.no_grad():
            assert torch.equal(again.encode(tensors["enc.image"]).latents, tensors["enc.latents"]), variant
            assert torch.equal(again.decode(tensors["dec.latents"]).sample, tensors["dec.out"]), variant
    assert set(load_file(OUT / "diffusion_pytorch_model.safetensors")) == set(state)
    print(f"{OUT.relative_to(ROOT)}: {sum(p.numel() for p in taesd.parameters())} parameters, "
          f"{sum(f.stat().st_size for f in OUT.iterdir())} bytes")
    superres_reference(AutoencoderTiny.from_pretrained(OUT).eval())


def superres_reference(taesd):
    """reference_sampler's x4 super-resolution case, with TAESD's decoder and encoder in the transport."""
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer
    torch.manual_seed(1)
    unet = UNet2DConditionModel.from_pretrained(TINY_SD / "unet").eval()
    text_encoder = CLIPTextModel.from_pretrained(TINY_SD / "text_encoder").eval()
    tokenizer = CLIPTokenizer.from_pretrained(TINY_SD / "tokenizer")
    steps = reference_sampler.STEPS
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 16), torch.linspace(-1, 1, 16), indexing="ij")
    y = torch.stack([torch.sin(3 * xx), torch.cos(2 * yy), xx * yy]).unsqueeze(0)
    x_T = torch.randn(1, 4, 8, 8)
    zs = [torch.randn(1, 4, 8, 8) for _ in range(steps)]
    # as reference_sampler's super-resolution case (K = 3, an encoder step of 0.05) but h = 0.1: at
    # t = 1000 the UNet's float32 differences between implementations, times 1/sqrt(alpha-bar) = 14.6,
    # are 1e-3 of a finite difference of 0.005, and three inner steps of two outer ones add that up
    sr = dict(prompt="", guidance_weight=0.0, convention="consistent", newton_steps=3, learning_rates=[0.5], h=0.1, vae_h=0.05, factor=4)
    down, up = reference_sampler.resizer(1 / 4), reference_sampler.resizer(4)

    def error(x0):  # the VAE-Newton transport of reference_sampler.super_resolution_constraint; s = 1
        img = taesd.decode(x0).sample
        r = up(y - down(img))
        r = r / r.abs().max()
        return taesd.encode(img + sr["vae_h"] * r).latents - taesd.encode(img).latents

    with torch.no_grad():
        text = reference_sampler.text_states(tokenizer, text_encoder, "")
        x0 = reference_sampler.sample(unet, error, text, text, x_T, zs, sr)
    tensors = {"superres.low": y, "superres.x0": x0, "x_T": x_T} | {f"z_{i}": z for i, z in enumerate(zs)}
    save_file({k: v.contiguous() for k, v in tensors.items()}, SUPERRES_OUT,
              metadata={"steps": str(steps), "superres": json.dumps(sr, sort_keys=True)})
    print(f"{SUPERRES_OUT.relative_to(ROOT)}: {SUPERRES_OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
