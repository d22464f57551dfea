#!/usr/bin/env python3
"""Reference runs of diffusers' DPMSolverMultistepScheduler (algorithm_type="dpmsolver++",
solver_order=2) and LCMScheduler, the scheduler alone: a sequence of `step` calls on fixed model
outputs, for the Swift schedulers' parity tests (Tests/FCSSamplerTests/SchedulerParityTests.swift).

Each case is built with `from_config` on a model's scheduler config (as a pipeline swapping its
scheduler does) and writes, under its name: `timesteps` (diffusers' training indices), `x_T`,
`output_<i>` (the model output fed to step i), `noise_<i>` (LCM's fresh noise of step i) and
`sample_<i>` (prev_sample after step i); float32 (diffusers computes in float32). The config is in the metadata.

    /work/venv-ref/bin/python tools/make_scheduler_fixtures.py   # diffusers 0.42.1, torch 2.13
"""
import json
from pathlib import Path

import torch
from diffusers import DPMSolverMultistepScheduler, LCMScheduler
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/FCSSamplerTests/Fixtures/schedulers.safetensors"
SD15 = json.loads((ROOT / "Tests/FCSModelsTests/Fixtures/tiny-sd/scheduler/scheduler_config.json").read_text())
SHAPE = (1, 4, 6, 5)

# name: (scheduler class, config overrides, steps)
CASES = {
    "dpm_sd15_leading_10": (DPMSolverMultistepScheduler, {}, 10),
    "dpm_linspace_20": (DPMSolverMultistepScheduler, {"timestep_spacing": "linspace", "steps_offset": 0}, 20),
    "dpm_trailing_5": (DPMSolverMultistepScheduler, {"timestep_spacing": "trailing"}, 5),
    "dpm_sigma_min_16": (DPMSolverMultistepScheduler, {"final_sigmas_type": "sigma_min", "timestep_spacing": "linspace"}, 16),
    "dpm_sigma_min_no_lower_4": (DPMSolverMultistepScheduler, {"final_sigmas_type": "sigma_min", "lower_order_final": False}, 4),
    "dpm_v_linear_1": (DPMSolverMultistepScheduler, {"prediction_type": "v_prediction", "beta_schedule": "linear",
                                                     "beta_start": 0.0001, "beta_end": 0.02}, 1),
    "dpm_v_linear_3": (DPMSolverMultistepScheduler, {"prediction_type": "v_prediction", "beta_schedule": "linear",
                                                     "beta_start": 0.0001, "beta_end": 0.02}, 3),
    "lcm_4": (LCMScheduler, {}, 4),
    "lcm_1": (LCMScheduler, {}, 1),
    "lcm_original_30_7": (LCMScheduler, {"original_inference_steps": 30, "timestep_scaling": 5.0}, 7),
    "lcm_v_8": (LCMScheduler, {"prediction_type": "v_prediction"}, 8),
}


def run(cls, overrides, steps, seed):
    config = {**SD15, **overrides}
    scheduler = cls.from_config(config)
    if cls is DPMSolverMultistepScheduler:
        assert scheduler.config.algorithm_type == "dpmsolver++" and scheduler.config.solver_order == 2
    scheduler.set_timesteps(steps)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(SHAPE, generator=generator)
    tensors = {"timesteps": scheduler.timesteps.to(torch.float32), "x_T": x.float()}
    for i, t in enumerate(scheduler.timesteps):
        output = torch.randn(SHAPE, generator=generator)
        tensors[f"output_{i}"] = output.float()
        if cls is LCMScheduler:
            # the scheduler draws its noise from this generator: record the same draw from a copy
            state = generator.get_state()
            tensors[f"noise_{i}"] = torch.randn(SHAPE, generator=generator).float()
            generator.set_state(state)
            x = scheduler.step(output, t, x, generator=generator).prev_sample
        else:
            x = scheduler.step(output, t, x).prev_sample
        tensors[f"sample_{i}"] = x.float()
    return tensors, {k: v for k, v in config.items() if not k.startswith("_")}


def main():
    tensors, metadata = {}, {}
    for seed, (name, (cls, overrides, steps)) in enumerate(CASES.items()):
        case, config = run(cls, overrides, steps, seed)
        tensors.update({f"{name}.{k}": v.contiguous() for k, v in case.items()})
        metadata[name] = json.dumps({"scheduler": cls.__name__, "steps": steps, "config": config})
    save_file(tensors, OUT, metadata=metadata)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(CASES)} cases)")


if __name__ == "__main__":
    main()
