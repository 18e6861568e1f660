"""Using a trained digits GAN: generate, interpolate, walk the latent space, score realness.

Seeds map to noise deterministically: image ``i`` of seed ``s`` is row ``i`` of a
(MAX_COUNT, latent_dim) normal draw from ``torch_generator(s)``, so it does not depend on
how many images were asked for. Truncation ψ scales z towards the mean (z = 0):
ψ = 1 is the plain model, smaller ψ trades variety for typical-looking digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from engine.core import validation
from engine.core.settings import LIMITS
from engine.core.datasets import upscale_digits
from engine.core.digit_input import image_to_digit8
from engine.gan.judge import DigitJudge, GanQuality, evaluate_generator
from engine.core.threads import single_thread
from engine.gan.models import (
    DISCRIMINATOR_SUBFOLDER,
    GENERATOR_SUBFOLDER,
    ConditionalDiscriminator,
    ConditionalGenerator,
)
from engine.core.registry import load_pretrained
from engine.gan.record import DEFAULT_MODEL, committed_quality  # noqa: F401  (committed_quality re-exported)
from engine.core import registry
from engine.core.seeding import torch_generator

MAX_COUNT = 64  # most images one request may generate
MAX_FRAMES = 48  # most interpolation frames
PSI_RANGE = (0.0, 2.0)  # allowed truncation ψ
MAX_SEED = LIMITS.seed_max  # one seed range everywhere (engine.core.settings)
JUDGE_MODEL = "gan-judge"


# ----------------------------------------------------------------------------------------- loading
def _from_pretrained(cls, location: str | Path, subfolder: str | None = None):
    kwargs = {"use_safetensors": True, "low_cpu_mem_usage": False}
    if subfolder:
        kwargs["subfolder"] = subfolder
    return cls.from_pretrained(location, **kwargs).eval()


def load_generator(model_id: str | None = None) -> ConditionalGenerator:
    """The embedded generator (``model_id`` empty) or one saved in NeuroDeck's format (Hub id or folder).

    Raises ``ValueError`` with a clear message when a Hub id cannot be loaded (e.g. offline).
    """
    return registry.load("gan-generator", model_id)


def load_discriminator() -> ConditionalDiscriminator:
    return registry.load("gan-discriminator")


def load_judge() -> DigitJudge:
    return registry.load("gan-judge")


# Registry builders (see engine.core.registry.TASKS).
def build_generator(source, folder) -> ConditionalGenerator:
    return _from_pretrained(ConditionalGenerator, folder, GENERATOR_SUBFOLDER)


def build_hub_generator(model_id: str) -> ConditionalGenerator:
    def loader(location, **kwargs):
        return ConditionalGenerator.from_pretrained(location, subfolder=GENERATOR_SUBFOLDER, low_cpu_mem_usage=False, **kwargs).eval()

    return load_pretrained(loader, model_id)


def build_discriminator(source, folder) -> ConditionalDiscriminator:
    return _from_pretrained(ConditionalDiscriminator, folder, DISCRIMINATOR_SUBFOLDER)


def build_judge(source, folder) -> DigitJudge:
    return _from_pretrained(DigitJudge, folder)


# ----------------------------------------------------------------------------------------- checks
def check_seed(seed, name: str = "seed") -> int:
    return validation.check_seed(seed, name)


def check_digit(digit, allow_random: bool = True) -> int | None:
    """0..9 -> int; "random" (or None/"") -> None."""
    if digit is None or (isinstance(digit, str) and digit.strip().lower() in {"", "random"}):
        if allow_random:
            return None
        raise ValueError("Pick a digit class from 0 to 9.")
    try:
        value = int(str(digit).strip())
    except ValueError:
        value = -1
    if not 0 <= value <= 9:
        allowed = '0-9 or "random"' if allow_random else "0-9"
        raise ValueError(f"The digit class must be {allowed}, got {validation.quote(digit)}.")
    return value


def check_psi(psi) -> float:
    try:
        value = float(psi)
    except (TypeError, ValueError):
        value = float("nan")
    if not (math.isfinite(value) and PSI_RANGE[0] <= value <= PSI_RANGE[1]):
        raise ValueError(f"Truncation ψ must be between {PSI_RANGE[0]} and {PSI_RANGE[1]}, got {validation.quote(psi)}.")
    return value


def check_count(count, high: int = MAX_COUNT, name: str = "count") -> int:
    try:
        value = float(count)
    except (TypeError, ValueError):
        value = float("nan")
    if not math.isfinite(value) or value != int(value) or not 1 <= value <= high:
        raise ValueError(f"The {name} must be a whole number from 1 to {high}, got {validation.quote(count)}.")
    return int(value)


# ----------------------------------------------------------------------------------------- sampling
def seed_latents(seed: int, latent_dim: int, psi: float = 1.0) -> torch.Tensor:
    """(MAX_COUNT, latent_dim) float32 noise for ``seed``, scaled by ψ."""
    return torch.randn(MAX_COUNT, latent_dim, generator=torch_generator(seed)) * psi


def seed_classes(seed: int) -> torch.Tensor:
    """(MAX_COUNT,) int64 classes used when the class is "random" (independent of the noise draw)."""
    return torch.randint(10, (MAX_COUNT,), generator=torch_generator(seed + 7919))


@dataclass(frozen=True)
class Generated:
    images: np.ndarray  # (N, S, S) float32 in [0, 1], ink = 1
    classes: tuple[int, ...]  # requested class of each image
    seed: int
    psi: float
    digit: int | None  # the requested class, None = random

    def info(self) -> dict:
        return {
            "class": "random" if self.digit is None else self.digit,
            "classes": list(self.classes),
            "seed": self.seed,
            "psi": self.psi,
            "count": len(self.classes),
            "image_size": int(self.images.shape[-1]),
        }


@single_thread()
@torch.no_grad()
def generate(generator: ConditionalGenerator, seed, digit="random", count=16, psi=1.0) -> Generated:
    """``count`` digits of class ``digit`` (0-9 or "random") from ``seed``; deterministic per seed."""
    seed, digit, count, psi = check_seed(seed), check_digit(digit), check_count(count), check_psi(psi)
    z = seed_latents(seed, generator.config.latent_dim, psi)[:count]
    labels = seed_classes(seed)[:count] if digit is None else torch.full((count,), digit, dtype=torch.long)
    images = generator(z, labels)[:, 0].clamp(0, 1).numpy()
    return Generated(images=images, classes=tuple(int(c) for c in labels), seed=seed, psi=psi, digit=digit)


def _slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of (D,) vectors at (T,) times -> (T, D); Gaussian noise lives near a sphere."""
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
    theta = torch.arccos(cos.clamp(-1, 1))
    if theta.abs() < 1e-4:
        return torch.lerp(a[None], b[None], t[:, None])
    sin = torch.sin(theta)
    return (torch.sin((1 - t) * theta) / sin)[:, None] * a + (torch.sin(t * theta) / sin)[:, None] * b


@single_thread()
@torch.no_grad()
def interpolate(generator, seed_a, seed_b, digit_a=0, digit_b=0, frames=12, psi=1.0) -> np.ndarray:
    """(frames, S, S) in [0, 1]: slerp the noise of image 0 of each seed, lerp the two class embeddings.

    Frame 0 equals ``generate(seed_a, digit_a, 1)`` and the last frame ``generate(seed_b, digit_b, 1)``.
    """
    seed_a, seed_b = check_seed(seed_a, "first seed"), check_seed(seed_b, "second seed")
    digit_a, digit_b = check_digit(digit_a, False), check_digit(digit_b, False)
    frames, psi = check_count(frames, MAX_FRAMES, "number of frames"), check_psi(psi)
    if frames < 2:
        raise ValueError("Use at least 2 frames to interpolate.")
    dim = generator.config.latent_dim
    z_a, z_b = seed_latents(seed_a, dim, psi)[0], seed_latents(seed_b, dim, psi)[0]
    t = torch.linspace(0, 1, frames)
    z = _slerp(z_a, z_b, t)
    z[0], z[-1] = z_a, z_b  # exact endpoints, whatever the rounding inside slerp
    embed = generator.embed.weight
    class_vectors = torch.lerp(embed[digit_a][None], embed[digit_b][None], t[:, None])
    class_vectors[0], class_vectors[-1] = embed[digit_a], embed[digit_b]
    return generator.from_embedding(z, class_vectors)[:, 0].clamp(0, 1).numpy()


@single_thread()
@torch.no_grad()
def latent_walk(generator, seed, digit=0, direction_seed=1, amounts=(0.0,), psi=1.0) -> np.ndarray:
    """(len(amounts), S, S): image 0 of ``seed`` moved by ``amount`` x a random unit direction (times sqrt(dim)).

    The direction is drawn from ``direction_seed``; an amount of 1 moves z by a typical noise vector's length.
    """
    seed, direction_seed = check_seed(seed), check_seed(direction_seed, "direction seed")
    digit, psi = check_digit(digit, False), check_psi(psi)
    values = [float(a) for a in amounts]
    if not values or len(values) > MAX_FRAMES or not all(math.isfinite(a) and abs(a) <= 3 for a in values):
        raise ValueError(f"Walk amounts must be 1-{MAX_FRAMES} numbers between -3 and 3.")
    dim = generator.config.latent_dim
    z0 = seed_latents(seed, dim, psi)[0]
    direction = torch.randn(dim, generator=torch_generator(direction_seed))
    direction = direction / direction.norm() * math.sqrt(dim)
    z = z0[None] + torch.tensor(values)[:, None] * direction[None]
    labels = torch.full((len(values),), digit, dtype=torch.long)
    return generator(z, labels)[:, 0].clamp(0, 1).numpy()


# ----------------------------------------------------------------------------------------- scoring
def _as_drawn(image: Image.Image, size: int) -> np.ndarray | None:
    """A square image on a dark background whose side is a multiple of ``size`` (a generated digit, or one
    shown enlarged on the sketchpad), area-averaged straight down to (size, size); None for anything else."""
    gray = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    height, width = gray.shape
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if height == width and width % size == 0 and np.median(border) < 0.5:
        factor = width // size
        return gray.reshape(size, factor, size, factor).mean((1, 3)).astype(np.float32)
    return None


def _training_layout(image: Image.Image, size: int) -> np.ndarray:
    """Cropped, centred and reduced to 8x8 like scikit-learn's digits (``image_to_digit8``), then upscaled."""
    return upscale_digits(image_to_digit8(image), size)[0, 0].numpy()


def image_to_gan_input(image: Image.Image, size: int = 32) -> np.ndarray:
    """An RGB PIL image -> (size, size) float32 in [0, 1], ink = 1, in the training data's layout.

    Square images on a dark background whose side is a multiple of ``size`` (e.g. a generated digit,
    or one shown enlarged on a sketchpad) are area-averaged straight down, so an untouched generated
    digit scores exactly as generated. Anything else (photos, drawings on white) is cropped and
    reduced to 8x8 like scikit-learn's digits, then upscaled.
    """
    pixels = _as_drawn(image, size)
    return pixels if pixels is not None else _training_layout(image, size)


def image_to_judge_view(image: Image.Image, size: int = 32) -> np.ndarray | None:
    """The digit as the judge was trained to see it: cropped, centred and scaled like scikit-learn's
    digits (``image_to_digit8``), then upscaled to (size, size) float32 in [0, 1]; None for a blank image.

    A digit drawn small or off centre on the sketchpad keeps its pixels for D (``image_to_gan_input``)
    but is read by the judge in this layout too: read as drawn, three in five such sketches were misread.
    """
    try:
        return _training_layout(image, size)
    except ValueError:  # no visible strokes: the judge reads the pixels as they are
        return None


@dataclass(frozen=True)
class Realness:
    realness: float  # sigmoid(D(x, class)) in [0, 1]: D's belief that x is a real digit of that class
    logit: float  # the raw discriminator output
    digit: int  # the class D was conditioned on
    digit_source: str  # "requested" or "judge" (the judge's reading, when no class was given)
    judge_probabilities: tuple[float, ...]  # the judge's softmax over 0..9 (mean over the views it read)
    per_class_realness: tuple[float, ...]  # realness if conditioned on each class 0..9

    def info(self) -> dict:
        return {
            "realness": round(self.realness, 4),
            "logit": round(self.logit, 3),
            "class": self.digit,
            "class_from": self.digit_source,
            "judge_reads": int(np.argmax(self.judge_probabilities)),
            "judge_confidence": round(max(self.judge_probabilities), 4),
            "realness_per_class": [round(v, 3) for v in self.per_class_realness],
        }


def _square(image, name: str) -> torch.Tensor:
    array = np.asarray(image, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError(f"Expected a square grayscale {name} array, got shape {array.shape}.")
    return torch.as_tensor(array)[None, None].clamp(0, 1)


def _resized(x: torch.Tensor, size: int) -> torch.Tensor:
    return x if x.shape[-1] == size else F.interpolate(x, size=size, mode="bilinear", align_corners=False)


@single_thread()
@torch.no_grad()
def score_realness(discriminator, judge, image: np.ndarray, digit="auto", judge_view: np.ndarray | None = None) -> Realness:
    """D's realness of a (S, S) image in [0, 1] (ink = 1) as class ``digit`` (0-9, or "auto" = judge's reading).

    The judge reads ``image`` and, when given, ``judge_view`` (the same digit in the training layout,
    ``image_to_judge_view``); its probabilities are the mean over the two. D always scores ``image``.
    """
    x = _square(image, "image")
    views = [x] if judge_view is None else [x, _square(judge_view, "judge view")]
    judge_x = torch.cat([_resized(v, judge.config.image_size) for v in views])
    probabilities = torch.softmax(judge(judge_x), 1).mean(0)
    x = _resized(x, discriminator.config.image_size)
    auto = isinstance(digit, str) and digit.strip().lower() in {"", "auto", "random"}
    chosen = int(probabilities.argmax()) if auto or digit is None else check_digit(digit, False)
    logits = discriminator(x.expand(10, -1, -1, -1), torch.arange(10))
    return Realness(
        realness=float(torch.sigmoid(logits[chosen])),
        logit=float(logits[chosen]),
        digit=chosen,
        digit_source="judge" if auto or digit is None else "requested",
        judge_probabilities=tuple(float(p) for p in probabilities),
        per_class_realness=tuple(float(v) for v in torch.sigmoid(logits)),
    )


def score_image(image: Image.Image, digit="auto", size: int = 32) -> Realness:
    """Score an uploaded or drawn RGB image with the committed D and judge (see ``score_realness``).

    Pixels kept as drawn are read by the judge in the training layout too; an image that had to be
    brought into that layout already is in it, so the judge reads it once.
    """
    pixels = _as_drawn(image, size)
    if pixels is None:
        return score_realness(load_discriminator(), load_judge(), _training_layout(image, size), digit)
    return score_realness(load_discriminator(), load_judge(), pixels, digit, image_to_judge_view(image, size))


# ----------------------------------------------------------------------------------------- figures
def measure_quality(samples: int = 200, seed: int = 12345, on_progress=None) -> GanQuality:
    """Re-measure the embedded generator with the judge now (``samples`` spread over the 10 classes).

    ``on_progress(done, total)`` (optional) is called as the work advances, ``done`` rising to ``total``;
    the result carries its sample counts (FID depends on them) and KID beside FID.
    """
    samples = check_count(samples, 2000, "number of samples")
    with single_thread():
        return evaluate_generator(load_generator(), load_judge(), samples=samples, seed=check_seed(seed),
                                  on_progress=on_progress)


@dataclass(frozen=True)
class RealnessReference:
    """What D's realness looks like for real digits and for noise: the yardstick the score card reads against."""

    real_low: float  # 5th percentile of D's realness on the held-out real digits (as their true class)
    real_high: float  # 95th percentile of the same
    noise: float  # median realness of uniform-noise images (as random classes)
    real_scores: tuple[float, ...] = ()  # D's realness of every held-out real digit, ascending (for percentiles)
    # From the same (final) D's measured separation (assets/gan_digits/snapshots.json); None if not measured.
    auroc_generated: float | None = None  # real vs the committed generator's digits: 0.5 = D cannot tell
    auroc_scribbled: float | None = None  # real vs scribbled copies
    scribbled_median: float | None = None  # median realness of scribbled copies


def realness_reference() -> RealnessReference:
    """D's realness on the 360 held-out real digits and on 100 noise images, computed once per process, with the
    committed final D's measured AUROCs (real vs generated, vs scribbled) when snapshots.json records them."""

    @single_thread()
    @torch.no_grad()
    def compute() -> RealnessReference:
        from engine.core.datasets import digits_split

        discriminator = load_discriminator()
        split = digits_split()
        real = torch.sigmoid(discriminator(upscale_digits(split.test_images, discriminator.config.image_size),
                                           torch.as_tensor(split.test_labels))).numpy().ravel()
        rng = torch_generator(0)
        side = discriminator.config.image_size
        noise = torch.sigmoid(discriminator(torch.rand(100, 1, side, side, generator=rng),
                                            torch.randint(10, (100,), generator=rng))).numpy().ravel()
        separation = {}
        try:
            from engine.gan.record import committed_snapshot_figures

            final = committed_snapshot_figures().final
            separation = {"auroc_generated": final.auroc_final_generator, "auroc_scribbled": final.auroc_scribbled,
                          "scribbled_median": final.scribbled_median}
        except (OSError, KeyError, ValueError):  # not measured yet: the card shows the real range only
            pass
        return RealnessReference(float(np.percentile(real, 5)), float(np.percentile(real, 95)), float(np.median(noise)),
                                 real_scores=tuple(float(v) for v in np.sort(real)), **separation)

    return registry.load_once("gan-realness-reference", compute)
