"""The embedded GAN's recorded training figures, readable without importing torch (the UI shows them at build time)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from engine.core.registry import get_source, verified_path

DEFAULT_MODEL = "gan-digits"  # registry key of the embedded generator


def committed_quality() -> dict:
    """The quality figures measured when the embedded generator was built (assets/gan_digits/training.json)."""
    folder = verified_path(get_source(DEFAULT_MODEL))
    record = json.loads((folder / "training.json").read_text())
    return {"quality": record.get("quality", {}), "train_seconds": record.get("metrics", {}).get("train_seconds"),
            "sample_size_check": record.get("sample_size_check", {})}


# ------------------------------------------------------------------------- discriminator snapshots
SNAPSHOTS_FILE = "snapshots.json"  # in assets/gan_digits; written by scripts/train_gan_digits.py --measure-only
SNAPSHOTS_FOLDER = "discriminator_snapshots"  # assets/gan_digits/discriminator_snapshots/<step>/
GENERATOR_SNAPSHOTS_FOLDER = "generator_snapshots"  # the raw generator each D was trained against, <step>/


@dataclass(frozen=True)
class SnapshotSeparation:
    """How well one discriminator snapshot tells real held-out digits from damaged copies of them."""

    step: int  # training step the snapshot was taken after (the last one is the committed final D)
    auroc_scribbled: float  # AUROC of D's realness, real (positive) vs scribbled copies: 0.5 = chance
    auroc_noised: float  # the same, real vs copies with Gaussian noise
    auroc_generated: float  # the same, real vs digits from the generator D was trained against at that step
    auroc_final_generator: float  # the same, real vs digits of the committed (final, EMA) generator the app shows
    real_low: float  # 5th percentile of D's realness on the real digits (as their true class)
    real_median: float
    real_high: float  # 95th percentile
    scribbled_median: float  # median realness of the scribbled copies
    noised_median: float  # median realness of the noised copies
    generated_median: float  # median realness of that step's generated digits

    def as_dict(self) -> dict:
        return {name: round(value, 4) if isinstance(value, float) else value for name, value in asdict(self).items()}


@dataclass(frozen=True)
class SnapshotFigures:
    """The measured separation of every snapshot (assets/gan_digits/snapshots.json), earliest first."""

    snapshots: tuple[SnapshotSeparation, ...]
    real_count: int  # real held-out digits measured
    damaged_count: int  # scribbled copies, and as many noised copies
    seed: int  # seeds the choice of digits, the scribbles and the noise
    noise_sigma: float  # standard deviation of the Gaussian noise (pixels in [0, 1], clipped)
    command: str = "python scripts/train_gan_digits.py --measure-only"

    @property
    def early(self) -> SnapshotSeparation:
        return self.snapshots[0]

    @property
    def final(self) -> SnapshotSeparation:
        return self.snapshots[-1]

    def as_dict(self) -> dict:
        return {"command": self.command, "real_count": self.real_count, "damaged_count": self.damaged_count,
                "seed": self.seed, "noise_sigma": self.noise_sigma,
                "snapshots": [snapshot.as_dict() for snapshot in self.snapshots]}

    @classmethod
    def from_dict(cls, record: dict) -> "SnapshotFigures":
        snapshots = tuple(SnapshotSeparation(**item) for item in record["snapshots"])
        return cls(snapshots=snapshots, real_count=int(record["real_count"]), damaged_count=int(record["damaged_count"]),
                   seed=int(record["seed"]), noise_sigma=float(record["noise_sigma"]),
                   command=record.get("command", cls.command))


def committed_snapshot_figures() -> SnapshotFigures:
    """The separation measured for the committed snapshots (assets/gan_digits/snapshots.json); no torch."""
    folder = verified_path(get_source(DEFAULT_MODEL))
    return SnapshotFigures.from_dict(json.loads((folder / SNAPSHOTS_FILE).read_text()))
