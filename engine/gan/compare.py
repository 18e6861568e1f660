"""GAN, VAE and diffusion on the same digits, measured by the same judge (engine/gan/judge.py).

The generators are data: :func:`default_generators` maps a name to a :class:`GeneratorEntry` (a sample
function and a facts function), so tests use fakes and a missing model (the VAE before it is merged) is
listed as missing instead of breaking the comparison. Per generator, on ``n_per_model`` new samples:

* FID: Fréchet distance between the judge's penultimate features of the samples and of the 360 held-out
  real digits, beside the same distance for ``n_per_model`` real training digits (the floor at that n:
  FID is biased upwards on few samples, so compare only at equal n);
* agreement: how often the judge reads the class that was asked for (conditional models only), and class
  coverage: how many of the 10 classes the judge reads among the samples (all models);
* diversity as the GAN's figures define it: per class, the samples' mean pairwise pixel distance over that
  of the real training digits of the class (classes as asked for, or as the judge reads them for an
  unconditional model); the worst and the mean class;
* milliseconds per sample on this CPU (wall clock of the sampling alone, in chunks of 64);
* parameters and training time, from each model's own record.

Measure and record: ``python scripts/compare_generators.py`` (docs/generators.md).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from engine.core.threads import single_thread

CHUNK = 64  # samples per sampling call (the VAE's and the apps' largest count)
COMMITTED = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "compare_generators.json"
COMMAND = "python scripts/compare_generators.py --n 500"
MAX_SAMPLES = 2000


@dataclass(frozen=True)
class GeneratorEntry:
    """One generator as the comparison sees it."""

    name: str
    family: str  # "GAN", "VAE", "Diffusion": one word for the table
    conditional: bool  # True: it is asked for a class; False: it samples any digit
    # (seed, classes) -> (N, 32, 32) float32 in [0, 1]; ``classes`` is (N,) int64 or None for unconditional
    sample: Callable[[int, np.ndarray | None, int], np.ndarray]
    facts: Callable[[], dict]  # {"parameters": int, "training_seconds": float, "note": str (optional)}
    settings: str = ""  # how it was sampled, e.g. "10 steps, guidance 3"


@dataclass(frozen=True)
class GeneratorFigures:
    name: str
    family: str
    conditional: bool
    samples: int
    fid: float  # judge-feature Fréchet distance, samples vs held-out real digits
    agreement: float | None  # share the judge reads as the class asked for (None: unconditional)
    classes_covered: int  # distinct classes among the judge's readings
    diversity_min: float  # worst class: generated / real mean pairwise pixel distance
    diversity_mean: float
    ms_per_sample: float
    parameters: int
    training_seconds: float | None
    settings: str = ""


@dataclass(frozen=True)
class Comparison:
    rows: tuple[GeneratorFigures, ...]
    n_per_model: int
    seed: int
    heldout_count: int  # real held-out digits every FID is measured against
    fid_real_same_n: float  # n_per_model real training digits vs the held-out ones: FID's floor at this n
    judge_test_accuracy: float
    measured_at: str  # UTC, ISO 8601
    load_average: float  # 1-minute load average when the measurement ended
    torch_threads: int
    missing: dict = field(default_factory=dict)  # name -> why it is not in the table

    def as_dict(self) -> dict:
        record = asdict(self)
        record["rows"] = [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}
                          for row in record["rows"]]
        record["command"] = COMMAND
        return record

    @classmethod
    def from_dict(cls, record: dict) -> "Comparison":
        rows = tuple(GeneratorFigures(**row) for row in record["rows"])
        fields = {k: v for k, v in record.items() if k not in {"rows", "command"}}
        return cls(rows=rows, **fields)


# ----------------------------------------------------------------------------------------- generators
def _gan_entry() -> GeneratorEntry:
    import torch

    from engine.core.seeding import torch_generator
    from engine.gan import inference

    def sample(seed: int, classes: np.ndarray | None, count: int) -> np.ndarray:
        generator = inference.load_generator()
        z = torch.randn(count, generator.config.latent_dim, generator=torch_generator(seed))
        with torch.no_grad():
            return generator(z, torch.as_tensor(classes))[:, 0].clamp(0, 1).numpy()

    def facts() -> dict:
        from engine.gan.record import committed_quality

        generator = inference.load_generator()
        return {"parameters": int(sum(p.numel() for p in generator.parameters())),
                "training_seconds": committed_quality()["train_seconds"]}

    return GeneratorEntry("GAN (DCGAN)", "GAN", True, sample, facts, "one network pass, ψ = 1")


def _diffusion_entry() -> GeneratorEntry:
    from engine.gan import diffusion

    def sample(seed: int, classes: np.ndarray | None, count: int) -> np.ndarray:
        return diffusion.sample_classes(diffusion.load_model(), seed, classes)

    return GeneratorEntry("Diffusion (DDPM)", "Diffusion", True, sample, diffusion.model_facts,
                          f"{diffusion.DEFAULT_STEPS} DPM-Solver++ steps, guidance {diffusion.DEFAULT_GUIDANCE:g}")


def _vae_entry() -> GeneratorEntry:
    from engine.autoencoder import vae  # merged from the VAE branch; missing until then

    def sample(seed: int, classes: np.ndarray | None, count: int) -> np.ndarray:
        return np.asarray(vae.sample_prior(seed, count).images, dtype=np.float32)

    return GeneratorEntry("VAE", "VAE", False, sample, vae.model_facts, "decoder of z ~ N(0, I)")


GENERATOR_FACTORIES: dict[str, Callable[[], GeneratorEntry]] = {
    "GAN": _gan_entry, "VAE": _vae_entry, "Diffusion": _diffusion_entry,
}


def default_generators() -> tuple[dict[str, GeneratorEntry], dict[str, str]]:
    """(name -> entry, name -> why missing): a generator whose module is absent is reported, not fatal."""
    entries, missing = {}, {}
    for key, factory in GENERATOR_FACTORIES.items():
        try:
            entries[key] = factory()
        except ImportError as error:
            missing[key] = f"not available in this build ({error.name or error})"
    return entries, missing


# ----------------------------------------------------------------------------------------- measuring
def _draw(entry: GeneratorEntry, seed: int, count: int) -> tuple[np.ndarray, np.ndarray | None, float]:
    """``count`` samples in chunks (class-balanced 0,1,..,9,0,.. when conditional): (images, classes, seconds)."""
    classes = (np.arange(count) % 10).astype(np.int64) if entry.conditional else None
    images, seconds = [], 0.0
    for index, start in enumerate(range(0, count, CHUNK)):
        size = min(CHUNK, count - start)
        chunk_classes = None if classes is None else classes[start : start + size]
        started = time.perf_counter()
        chunk = entry.sample(seed + index, chunk_classes, size)
        seconds += time.perf_counter() - started
        chunk = np.asarray(chunk, dtype=np.float32)
        if chunk.shape != (size, 32, 32):
            raise ValueError(f"{entry.name} returned shape {chunk.shape}, expected ({size}, 32, 32).")
        images.append(chunk)
    return np.concatenate(images), classes, seconds


def _diversity(images: np.ndarray, groups: np.ndarray, real: np.ndarray, real_labels: np.ndarray) -> list[float]:
    from engine.gan.judge import mean_pairwise_distance

    ratios = []
    for digit in range(10):
        mask = groups == digit
        if mask.sum() >= 2:
            ratios.append(mean_pairwise_distance(images[mask]) / mean_pairwise_distance(real[real_labels == digit]))
    return ratios


def compare_generators(n_per_model: int = 200, seed: int = 0, on_progress: Callable[[int, int], None] | None = None,
                       generators: dict[str, GeneratorEntry] | None = None, judge=None,
                       missing: dict[str, str] | None = None) -> Comparison:
    """Measure every generator on ``n_per_model`` samples with the same judge; see the module docstring.

    ``on_progress(done, total)`` after the real digits are read and after each generator.
    """
    from engine.core import validation

    n_per_model = int(validation.check_number(n_per_model, "samples per model", 20, MAX_SAMPLES, whole=True))
    seed = validation.check_seed(seed)
    with single_thread():  # the app's way to run small models (engine/core/threads.py): ms per sample on 1 thread
        return _compare(n_per_model, seed, on_progress, generators, judge, missing)


def _compare(n_per_model, seed, on_progress, generators, judge, missing) -> Comparison:
    import torch

    from engine.core.datasets import digits_split, upscale_digits
    from engine.gan.judge import frechet_distance, predict

    if generators is None:
        generators, found_missing = default_generators()
        missing = {**found_missing, **(missing or {})}
    if judge is None:
        from engine.gan.inference import load_judge

        judge = load_judge()
    total, done = len(generators) + 1, 0
    split = digits_split()
    train_x, test_x = upscale_digits(split.train_images, 32), upscale_digits(split.test_images, 32)
    test_logits, test_features = predict(judge, test_x)
    _, train_features = predict(judge, train_x)
    same_n = np.random.default_rng(seed).choice(len(train_features), min(n_per_model, len(train_features)), replace=False)
    floor = frechet_distance(train_features[same_n], test_features)
    real, real_labels = train_x[:, 0].numpy(), split.train_labels
    done += 1
    if on_progress is not None:
        on_progress(done, total)
    rows = []
    for entry in generators.values():
        images, classes, seconds = _draw(entry, seed, n_per_model)
        logits, features = predict(judge, torch.as_tensor(images)[:, None])
        readings = logits.argmax(1)
        diversity = _diversity(images, classes if classes is not None else readings, real, real_labels)
        facts = entry.facts()
        rows.append(GeneratorFigures(
            name=entry.name, family=entry.family, conditional=entry.conditional, samples=n_per_model,
            fid=frechet_distance(features, test_features),
            agreement=None if classes is None else float((readings == classes).mean()),
            classes_covered=int(len(np.unique(readings))),
            diversity_min=float(min(diversity)) if diversity else float("nan"),
            diversity_mean=float(np.mean(diversity)) if diversity else float("nan"),
            ms_per_sample=1000 * seconds / n_per_model,
            parameters=int(facts.get("parameters", 0)),
            training_seconds=None if facts.get("training_seconds") is None else float(facts["training_seconds"]),
            settings=entry.settings,
        ))
        done += 1
        if on_progress is not None:
            on_progress(done, total)
    return Comparison(
        rows=tuple(rows), n_per_model=n_per_model, seed=seed, heldout_count=len(test_features), fid_real_same_n=floor,
        judge_test_accuracy=float((test_logits.argmax(1) == split.test_labels).mean()),
        measured_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), load_average=round(os.getloadavg()[0], 2),
        torch_threads=torch.get_num_threads(), missing=dict(missing or {}),
    )


def sample_grid(entry: GeneratorEntry, seed: int = 0, count: int = 20) -> np.ndarray:
    """``count`` samples of one generator for the grid beside the table (classes 0..9 in order if conditional)."""
    images, _, _ = _draw(entry, seed, count)
    return images


def committed_comparison(path: Path = COMMITTED) -> Comparison | None:
    """The last recorded comparison (``python scripts/compare_generators.py``), or None if none was recorded."""
    try:
        return Comparison.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _figure(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"


def table_markdown(comparison: Comparison) -> str:
    """The comparison as a Markdown table, every FID with its n, plus the real-data floor and what is missing."""
    lines = [
        "| Model | FID (judge features) | Judge agrees with class | Classes covered | Diversity (worst / mean class) "
        "| ms per sample | Parameters | Training time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in comparison.rows:
        agreement = "unconditional" if row.agreement is None else f"{row.agreement:.1%}"
        training = "–" if row.training_seconds is None else f"{row.training_seconds / 60:.1f} min"
        lines.append(
            f"| **{row.name}** ({row.settings}) | {_figure(row.fid)} (n = {row.samples:,}) | {agreement} "
            f"| {row.classes_covered}/10 | {_figure(row.diversity_min)} / {_figure(row.diversity_mean)} "
            f"| {_figure(row.ms_per_sample, 2)} | {row.parameters:,} | {training} |"
        )
    lines.append(
        f"| real training digits (the floor) | {_figure(comparison.fid_real_same_n)} (n = {comparison.n_per_model:,}) "
        f"| – | 10/10 | 1.00 / 1.00 | – | – | – |"
    )
    notes = [f"Every FID against the same {comparison.heldout_count} held-out real digits, in the judge's "
             f"feature space (judge accuracy on them {comparison.judge_test_accuracy:.1%}). Measured "
             f"{comparison.measured_at} on {comparison.torch_threads} torch thread(s), load average "
             f"{comparison.load_average:g}."]
    notes += [f"{name}: {why}." for name, why in comparison.missing.items()]
    return "\n".join(lines) + "\n\n" + " ".join(notes)


def tradeoff_words(comparison: Comparison) -> str:
    """The trade-off in plain words, built from the measured figures (nothing here is typed in by hand)."""
    rows = {row.family: row for row in comparison.rows}
    if not rows:
        return "No generator was measured."
    best_fid = min(comparison.rows, key=lambda row: row.fid)
    fastest = min(comparison.rows, key=lambda row: row.ms_per_sample)
    most_varied = max(comparison.rows, key=lambda row: row.diversity_mean if math.isfinite(row.diversity_mean) else -1)
    parts = [f"**Quality:** {best_fid.name} is closest to real digits (FID {best_fid.fid:.1f}, real digits "
             f"{comparison.fid_real_same_n:.1f}, n = {comparison.n_per_model:,})."]
    slowest = max(comparison.rows, key=lambda row: row.ms_per_sample)
    if slowest is not fastest:
        parts.append(f"**Speed:** {fastest.name} needs {fastest.ms_per_sample:.2f} ms per digit, {slowest.name} "
                     f"{slowest.ms_per_sample:.2f} ms: {slowest.ms_per_sample / max(fastest.ms_per_sample, 1e-9):.0f}× "
                     "slower, because it runs its network once per denoising step." if slowest.family == "Diffusion"
                     else f"**Speed:** {fastest.name} {fastest.ms_per_sample:.2f} ms per digit, {slowest.name} "
                          f"{slowest.ms_per_sample:.2f} ms.")
    parts.append(f"**Diversity:** {most_varied.name} varies most within a class ({most_varied.diversity_mean:.2f} "
                 "of the real digits' spread; 1 = as varied as real)"
                 + (": above 1 is more spread than real digits have, so some of it is odd strokes or grain; read "
                    "it with FID." if most_varied.diversity_mean > 1.05 else "."))
    if "VAE" in rows:
        vae = rows["VAE"]
        parts.append(f"**Control:** the VAE cannot be asked for a class; the judge finds {vae.classes_covered} of the "
                     f"10 classes among its {vae.samples:,} samples.")
    return " ".join(parts)
