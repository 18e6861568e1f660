"""Sampling the digits diffusion model: generate, the denoising trace, SDEdit and the guidance row.

The network predicts the noise ε̂ in x_t = √ᾱ_t·x0 + √(1-ᾱ_t)·ε; from it the clean image follows as
x̂0 = (x_t - √(1-ᾱ_t)·ε̂) / √ᾱ_t. Sampling runs DPM-Solver++ (2nd order, diffusers'
``DPMSolverMultistepScheduler``) on the training schedule, so a few steps suffice; each step's x̂0 is clipped
to [-1, 1] (dynamic thresholding). Sampling is deterministic given x_T, so the only random numbers are the
starting noise (and for "random" classes the classes).

Seeds map to noise like the GAN's: sample ``i`` of seed ``s`` starts from row ``i`` of a
(MAX_COUNT, 1, 32, 32) normal draw from ``torch_generator(s)``, whatever the count, and "random" classes
are the GAN's (``inference.seed_classes``), so the same seed asks both models for the same digits.
Classifier-free guidance at scale w: ε̂ = ε̂_uncond + w·(ε̂_class - ε̂_uncond); w = 0 ignores the class,
w = 1 is the plain conditional model, w > 1 exaggerates the class.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from engine.core import registry, validation
from engine.core.seeding import torch_generator
from engine.core.threads import single_thread
from engine.gan.diffusion_model import UNCONDITIONAL, from_model_range, to_model_range

MAX_COUNT = 64
MAX_STEPS = 50
MAX_GUIDANCE = 10.0
DEFAULT_STEPS = 8
DEFAULT_GUIDANCE = 2.0
GUIDANCE_ROW = (0.0, 1.0, 3.0, 7.0)
IMAGE_SIZE = 32
# Sampling starts at t = 979, not 999: the cosine schedule's last ᾱ is 2e-9, where x̂0 = (x_t - √(1-ᾱ)ε̂)/√ᾱ
# multiplies rounding differences by 20,000, so one sample came out differently in a batch of 16 than alone.
# At t = 979, ᾱ = 0.0009 (the signal is 3 % of the noise: still pure noise to the eye), the factor is 34.
START_FRACTION = 0.98


@dataclass(frozen=True, eq=False)  # hashed by identity: the trace cache keys on it
class DiffusionModel:
    unet: torch.nn.Module  # UNet2DModel, eval mode: (x_t, t, class) -> ε̂
    scheduler_config: dict  # the training DDPMScheduler's config (beta schedule, 1000 steps)
    alphas_cumprod: torch.Tensor  # (train_timesteps,) float32 ᾱ_t

    @property
    def train_timesteps(self) -> int:
        return len(self.alphas_cumprod)


def model_from_unet(unet, scheduler_config: dict | None = None) -> DiffusionModel:
    """Wrap a UNet2DModel (e.g. a tiny random one in tests) with the training noise schedule."""
    from diffusers import DDPMScheduler

    from engine.gan.diffusion_model import build_train_scheduler

    scheduler = DDPMScheduler.from_config(scheduler_config) if scheduler_config else build_train_scheduler()
    return DiffusionModel(unet.eval(), dict(scheduler.config), scheduler.alphas_cumprod.float())


def build_registered(source, folder) -> DiffusionModel:
    """Registry builder: the committed EMA UNet and its scheduler_config.json."""
    from diffusers import DDPMScheduler, UNet2DModel

    unet = UNet2DModel.from_pretrained(folder, use_safetensors=True, low_cpu_mem_usage=False).float()
    return model_from_unet(unet, dict(DDPMScheduler.load_config(folder)))


def load_model() -> DiffusionModel:
    return registry.load("diffusion")


# ----------------------------------------------------------------------------------------- checks
def check_steps(steps) -> int:
    return int(validation.check_number(steps, "number of denoising steps", 1, MAX_STEPS, whole=True))


def check_guidance(guidance) -> float:
    return float(validation.check_number(guidance, "guidance scale", 0, MAX_GUIDANCE))


def check_count(count) -> int:
    return int(validation.check_number(count, "count", 1, MAX_COUNT, whole=True))


def check_strength(strength) -> float:
    return float(validation.check_number(strength, "SDEdit strength", 0.05, 1.0))


def check_digit(digit, allow_random: bool = True) -> int | None:
    from engine.gan.inference import check_digit as gan_check_digit

    if isinstance(digit, str) and len(digit) > 80:
        digit = digit[:77] + "..."
    return gan_check_digit(digit, allow_random)


# ----------------------------------------------------------------------------------------- sampling
def initial_noise(seed: int, count: int) -> torch.Tensor:
    """x_T for samples 0..count-1 of ``seed``: rows of one (MAX_COUNT, 1, 32, 32) draw."""
    return torch.randn(MAX_COUNT, 1, IMAGE_SIZE, IMAGE_SIZE, generator=torch_generator(seed))[:count]


def requested_classes(seed: int, digit: int | None, count: int) -> torch.Tensor:
    if digit is not None:
        return torch.full((count,), digit, dtype=torch.long)
    return torch.randint(10, (MAX_COUNT,), generator=torch_generator(seed + 7919))[:count]  # the GAN's classes


def make_sampler(model: DiffusionModel, steps: int):
    """A fresh DPM-Solver++ sampler (they keep per-run state) over ``steps`` of the training schedule."""
    from diffusers import DPMSolverMultistepScheduler

    # Dynamic thresholding (Imagen) clips each step's x̂0 to the data's range [-1, 1]: early x̂0 = (x_t - σ·ε̂)/α
    # divides by a small α, and unclipped it left speckles that later steps did not remove (measured at
    # 10 steps, w = 3: pixel roughness 0.11 -> 0.06, real digits 0.03).
    sampler = DPMSolverMultistepScheduler.from_config(model.scheduler_config, algorithm_type="dpmsolver++",
                                                      solver_order=2, thresholding=True,
                                                      dynamic_thresholding_ratio=0.995, sample_max_value=1.0)
    sampler.set_timesteps(timesteps=sampling_timesteps(model, steps))
    return sampler


def sampling_timesteps(model: DiffusionModel, steps: int) -> list[int]:
    """``steps`` evenly spaced timesteps from START_FRACTION·T down ("trailing": the last step ends at x_0)."""
    start = round(START_FRACTION * model.train_timesteps) - 1
    return [int(t) for t in np.round(np.linspace(start, 0, steps, endpoint=False))]


def guided_noise(unet, x: torch.Tensor, t, classes: torch.Tensor, guidance: float) -> torch.Tensor:
    """ε̂ with classifier-free guidance; w = 0 and w = 1 need one network pass, other w two (one batch)."""
    t = torch.as_tensor(t).reshape(()).expand(len(x))
    empty = torch.full_like(classes, UNCONDITIONAL)
    if guidance == 0:
        return unet(x, t, class_labels=empty).sample
    if guidance == 1:
        return unet(x, t, class_labels=classes).sample
    both = unet(torch.cat([x, x]), torch.cat([t, t]), class_labels=torch.cat([classes, empty])).sample
    conditional, unconditional = both.chunk(2)
    return unconditional + guidance * (conditional - unconditional)


def predicted_clean(x: torch.Tensor, eps: torch.Tensor, alpha_bar: float) -> torch.Tensor:
    """x̂0 = (x_t - √(1-ᾱ)·ε̂) / √ᾱ."""
    return (x - (1 - alpha_bar) ** 0.5 * eps) / alpha_bar**0.5


def add_noise(x0: torch.Tensor, noise: torch.Tensor, alpha_bar: float) -> torch.Tensor:
    """The forward process in one jump: x_t = √ᾱ·x0 + √(1-ᾱ)·ε."""
    return alpha_bar**0.5 * x0 + (1 - alpha_bar) ** 0.5 * noise


@single_thread()  # measured on the busy 2-core server: one sampling step 1.7 s with 2 threads, 0.03 s with 1
@torch.no_grad()
def denoise(model: DiffusionModel, x: torch.Tensor, classes: torch.Tensor, steps: int, guidance: float,
            start_index: int = 0, on_step: Callable[[int, torch.Tensor, torch.Tensor], None] | None = None) -> torch.Tensor:
    """Run the sampler from step ``start_index`` of a ``steps``-step schedule; returns x_0 in model range.

    ``on_step(t, x_t, ε̂)`` sees each step's input and guided noise prediction.
    """
    sampler = make_sampler(model, steps)
    if start_index:
        sampler.set_begin_index(start_index)
    for t in sampler.timesteps[start_index:]:
        eps = guided_noise(model.unet, x, t, classes, guidance)
        if on_step is not None:
            on_step(int(t), x, eps)
        x = sampler.step(eps, t, x).prev_sample
    return x


@dataclass(frozen=True)
class DiffusionSamples:
    images: np.ndarray  # (N, 32, 32) float32 in [0, 1], ink = 1
    classes: tuple[int, ...]  # requested class of each image
    seed: int
    digit: int | None  # None = random classes
    steps: int
    guidance: float
    timesteps: tuple[int, ...]

    def info(self) -> dict:
        return {
            "class": "random" if self.digit is None else self.digit,
            "classes": list(self.classes),
            "seed": self.seed,
            "count": len(self.classes),
            "steps": self.steps,
            "guidance": self.guidance,
            "sampler": "DPM-Solver++ (2nd order)",
            "timesteps": list(self.timesteps),
            "image_size": IMAGE_SIZE,
        }


def generate(model: DiffusionModel, seed, digit="random", count=16, steps=DEFAULT_STEPS,
             guidance=DEFAULT_GUIDANCE) -> DiffusionSamples:
    """``count`` digits of class ``digit`` (0-9 or "random") from ``seed``; deterministic per seed."""
    seed, digit = validation.check_seed(seed), check_digit(digit)
    count, steps, guidance = check_count(count), check_steps(steps), check_guidance(guidance)
    classes = requested_classes(seed, digit, count)
    x = denoise(model, initial_noise(seed, count), classes, steps, guidance)
    return DiffusionSamples(images=from_model_range(x)[:, 0].numpy(), classes=tuple(int(c) for c in classes),
                            seed=seed, digit=digit, steps=steps, guidance=guidance,
                            timesteps=tuple(sampling_timesteps(model, steps)))


@dataclass(frozen=True)
class DiffusionTrace:
    """One sample's way from noise to digit: frames[0] = x_T, frames[i] = x after i steps, frames[-1] = x_0."""

    frames: np.ndarray  # (steps + 1, 32, 32) float32, x_t mapped from [-1, 1] to [0, 1] and clipped
    noise: np.ndarray  # (steps, 32, 32) float32: ε̂ predicted at each step (raw, about N(0, 1))
    clean: np.ndarray  # (steps, 32, 32) float32 in [0, 1]: x̂0 predicted at each step
    timesteps: tuple[int, ...]  # t of each step, from T-1 down
    alphas_cumprod: tuple[float, ...]  # ᾱ_t at each step
    digit: int  # the class this sample was asked to be
    seed: int
    steps: int
    guidance: float

    def info(self) -> dict:
        snr = [a / (1 - a) if a < 1 else float("inf") for a in self.alphas_cumprod]
        return {
            "seed": self.seed,
            "class": self.digit,
            "steps": self.steps,
            "guidance": self.guidance,
            "frames": len(self.frames),
            "timesteps": list(self.timesteps),
            "alphas_cumprod": [round(a, 6) for a in self.alphas_cumprod],
            "snr": [round(s, 6) for s in snr],
            "noise_std": [round(float(e.std()), 4) for e in self.noise],
        }


def trace(model: DiffusionModel, seed, digit="random", steps=DEFAULT_STEPS, guidance=DEFAULT_GUIDANCE) -> DiffusionTrace:
    """The denoising of sample 0 of ``seed``; its last frame is ``generate(seed, digit, count=1, steps)``'s image."""
    seed, digit = validation.check_seed(seed), check_digit(digit)
    steps, guidance = check_steps(steps), check_guidance(guidance)
    return _trace(model, seed, digit, steps, guidance)


@functools.lru_cache(maxsize=32)  # the step-through slider re-reads one trace many times
def _trace(model: DiffusionModel, seed: int, digit: int | None, steps: int, guidance: float) -> DiffusionTrace:
    classes = requested_classes(seed, digit, 1)
    frames, noise, clean, timesteps = [], [], [], []

    def record(t: int, x: torch.Tensor, eps: torch.Tensor) -> None:
        alpha_bar = float(model.alphas_cumprod[t])
        frames.append(from_model_range(x)[0, 0].numpy())
        noise.append(eps[0, 0].numpy().copy())
        clean.append(from_model_range(predicted_clean(x, eps, alpha_bar))[0, 0].numpy())
        timesteps.append(t)

    x = denoise(model, initial_noise(seed, 1), classes, steps, guidance, on_step=record)
    frames.append(from_model_range(x)[0, 0].numpy())
    return DiffusionTrace(
        frames=np.stack(frames), noise=np.stack(noise), clean=np.stack(clean), timesteps=tuple(timesteps),
        alphas_cumprod=tuple(float(model.alphas_cumprod[t]) for t in timesteps), digit=int(classes[0]),
        seed=seed, steps=steps, guidance=guidance,
    )


@dataclass(frozen=True)
class SdeditResult:
    original: np.ndarray  # (32, 32) in [0, 1]: the sketch as the model sees it
    noised: np.ndarray  # (32, 32) in [0, 1]: the sketch after the forward process to the start step
    result: np.ndarray  # (32, 32) in [0, 1]: denoised back
    strength: float
    start_timestep: int
    alpha_bar: float
    steps_run: int
    digit: int | None  # the class guided towards; None = no class (unconditional)

    def info(self) -> dict:
        return {"strength": self.strength, "start_timestep": self.start_timestep,
                "alpha_bar": round(self.alpha_bar, 6), "steps_run": self.steps_run,
                "class": "none" if self.digit is None else self.digit}


def sdedit(model: DiffusionModel, image, strength=0.6, seed=0, digit="random", steps=DEFAULT_STEPS,
           guidance=DEFAULT_GUIDANCE) -> SdeditResult:
    """Noise a (32, 32) digit in [0, 1] to ``strength`` of the schedule, then denoise it back (SDEdit).

    Of a ``steps``-step schedule the last round(strength·steps) steps run (at least one); "random" digit
    means no class (unconditional), so the model keeps whatever digit the sketch suggests.
    """
    x0 = np.asarray(image, dtype=np.float32)
    if x0.shape != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"SDEdit needs a {IMAGE_SIZE}x{IMAGE_SIZE} digit, got shape {x0.shape}.")
    strength, seed, digit = check_strength(strength), validation.check_seed(seed), check_digit(digit)
    steps, guidance = check_steps(steps), check_guidance(guidance)
    sampler = make_sampler(model, steps)
    run = max(1, min(steps, round(strength * steps)))
    start = steps - run
    t_start = int(sampler.timesteps[start])
    alpha_bar = float(model.alphas_cumprod[t_start])
    clean = to_model_range(torch.as_tensor(np.clip(x0, 0, 1))[None, None])
    noisy = add_noise(clean, initial_noise(seed, 1), alpha_bar)
    classes = torch.full((1,), UNCONDITIONAL if digit is None else digit, dtype=torch.long)
    result = denoise(model, noisy, classes, steps, 0.0 if digit is None else guidance, start_index=start)
    return SdeditResult(original=np.clip(x0, 0, 1), noised=from_model_range(noisy)[0, 0].numpy(),
                        result=from_model_range(result)[0, 0].numpy(), strength=strength, start_timestep=t_start,
                        alpha_bar=alpha_bar, steps_run=run, digit=digit)


def guidance_row(model: DiffusionModel, seed, digit="random", steps=DEFAULT_STEPS, per_scale: int = 4,
                 scales=GUIDANCE_ROW) -> list[DiffusionSamples]:
    """The same starting noise and classes at each guidance scale (one DiffusionSamples per scale)."""
    return [generate(model, seed, digit, per_scale, steps, scale) for scale in scales]


def judge_readings(images: np.ndarray) -> np.ndarray:
    """The GAN judge's reading (0-9) of each (N, 32, 32) image in [0, 1]."""
    from engine.gan.inference import load_judge
    from engine.gan.judge import predict

    logits, _ = predict(load_judge(), torch.as_tensor(np.asarray(images, np.float32))[:, None])
    return logits.argmax(1)


def sample_classes(model: DiffusionModel, seed: int, classes, steps: int = DEFAULT_STEPS,
                   guidance: float = DEFAULT_GUIDANCE) -> np.ndarray:
    """(N, 32, 32) digits in [0, 1] for the given (N,) classes (None: unconditional), noise from ``seed``."""
    count = MAX_COUNT if classes is None else len(classes)
    if classes is None:
        labels, guidance = torch.full((count,), UNCONDITIONAL, dtype=torch.long), 0.0
    else:
        labels = torch.as_tensor(np.asarray(classes, dtype=np.int64))
    noise = torch.randn(count, 1, IMAGE_SIZE, IMAGE_SIZE, generator=torch_generator(seed))
    return from_model_range(denoise(model, noise, labels, steps, guidance))[:, 0].numpy()


def model_facts() -> dict:
    """Parameters and the recorded CPU training time of the committed model (assets/diffusion_digits/training.json)."""
    import json

    folder = registry.verified_path(registry.get_source("diffusion-digits"))
    record = json.loads((folder / "training.json").read_text())
    return {"parameters": sum(p.numel() for p in load_model().unet.parameters()),
            "training_seconds": record.get("train_seconds")}
