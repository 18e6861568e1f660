"""Photoreal faces: MobileStyleGAN (a distilled StyleGAN2, FFHQ) run with OpenVINO.

The ``random-face`` package ships the model as OpenVINO IR: a mapping network z (1, 512) -> style
w (1, 512) and a synthesis network w -> image (1, 3, 1024, 1024) in about [-1, 1], RGB. Its own
Python loader uses OpenVINO's removed ``inference_engine`` API, so only its data files are used
(found with ``importlib.util.find_spec("random_face")``; the package is never imported). The four
IR files' sha256 are pinned in :mod:`engine.core.registry` and checked once per process.

Seeds: face ``s`` is ``z = default_rng(s).standard_normal(512)``; a request for ``count`` faces from
seed ``s`` returns the faces of seeds ``s, s+1, ...``, so any one face can be asked for again alone.

Truncation ψ: ``w' = w_avg + ψ (w - w_avg)``. The average style ``w_avg`` is estimated once from
:data:`W_AVG_SAMPLES` mapped samples and cached on disk (keyed by the mapping IR's sha256), see
:func:`cached_w_avg`. Semantic directions are GANSpace-style principal components of sampled w,
committed in ``assets/gan_faces`` by ``python -m scripts.make_face_directions``.

Concurrency: an OpenVINO ``InferRequest`` is not thread-safe, so each network keeps a small pool of
requests (one per stream); a call takes one from the pool and gives it back. No torch import here.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import queue
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
from PIL import Image

from engine.core.registry import ASSETS_DIR, get_source, load_once, verified_path

MODEL_KEY = "gan-faces"
STYLE_DIM = 512
NATIVE_SIZE = 1024
SIZES = (256, 512, 1024)
MAX_SEED = 2**31 - 1
MAX_COUNT = 8
PSI_RANGE = (0.0, 1.0)
DEFAULT_PSI = 0.7
MAX_FRAMES = 16
AMOUNT_RANGE = (-4.0, 4.0)  # direction edits, in standard deviations of w along the direction
TRUNCATION_PSIS = (0.0, 0.5, 0.7, 1.0)
W_AVG_SAMPLES = 4096  # "a few thousand mapped samples"
W_AVG_SEED = 2021
MAPPING_BATCH = 256  # batch of the one-off mapping model used for w_avg and PCA sampling
DIRECTIONS_DIR = ASSETS_DIR / "gan_faces"
DIRECTIONS_FILE = "directions.safetensors"
LABELS_FILE = "labels.json"
IMAGE_CACHE_FACES = 48  # synthesised 1024² faces kept in memory (3 MiB each, 144 MiB in all)

# OpenVINO threads for the synthesis network. Measured by benchmarks/bench_faces.py on the 2-core
# reference machine (figures in docs/faces.md): one thread per request and one stream per queue
# worker, so two users synthesise at the same time instead of queueing behind each other.
DEFAULT_THREADS = 1
DEFAULT_STREAMS = 2


# ----------------------------------------------------------------------------------------- checks
def _number(value, what: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{what}, got {value!r}.")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}, got {value!r}.") from None


def check_seed(seed, name: str = "seed") -> int:
    message = f"The {name} must be a whole number from 0 to {MAX_SEED:,}"
    value = _number(seed, message)
    if not math.isfinite(value) or value != int(value) or not 0 <= value <= MAX_SEED:
        raise ValueError(f"{message}, got {seed!r}.")
    return int(value)


def check_count(count) -> int:
    message = f"The count must be a whole number of faces from 1 to {MAX_COUNT}"
    value = _number(count, message)
    if not math.isfinite(value) or value != int(value) or not 1 <= value <= MAX_COUNT:
        raise ValueError(f"{message}, got {count!r}.")
    return int(value)


def check_psi(psi) -> float:
    message = f"Truncation ψ must be a number from {PSI_RANGE[0]:g} to {PSI_RANGE[1]:g} (0 = the average face, 1 = no truncation)"
    value = _number(psi, message)
    if not math.isfinite(value) or not PSI_RANGE[0] <= value <= PSI_RANGE[1]:
        raise ValueError(f"{message}, got {psi!r}.")
    return value


def check_size(size) -> int:
    message = f"The size must be one of {', '.join(map(str, SIZES))} pixels"
    value = _number(str(size).strip().removesuffix("px") if isinstance(size, str) else size, message)
    if not math.isfinite(value) or int(value) != value or int(value) not in SIZES:
        raise ValueError(f"{message}, got {size!r}.")
    return int(value)


def check_frames(frames) -> int:
    message = f"The number of frames must be a whole number from 2 to {MAX_FRAMES}"
    value = _number(frames, message)
    if not math.isfinite(value) or value != int(value) or not 2 <= value <= MAX_FRAMES:
        raise ValueError(f"{message}, got {frames!r}.")
    return int(value)


def check_space(space) -> str:
    text = str(space).strip().lower() if space is not None else ""
    if text not in {"w", "z"}:
        raise ValueError(f'The interpolation space must be "w" (style space) or "z" (input noise), got {space!r}.')
    return text


def check_amount(amount) -> float:
    message = f"The amount must be a number of standard deviations from {AMOUNT_RANGE[0]:g} to {AMOUNT_RANGE[1]:g}"
    value = _number(amount, message)
    if not math.isfinite(value) or not AMOUNT_RANGE[0] <= value <= AMOUNT_RANGE[1]:
        raise ValueError(f"{message}, got {amount!r}.")
    return value


def check_direction(direction, count: int, labels: Sequence[str] = ()) -> int:
    """A direction index 0..count-1, or a label such as ``"age"`` (case-insensitive)."""
    if isinstance(direction, str) and direction.strip():
        text = direction.strip().lower()
        for index, label in enumerate(labels):
            if text == label.lower() or text == f"{index}: {label}".lower():
                return index
    message = f"The direction must be a whole number from 0 to {count - 1}"
    if labels:
        message += " or one of " + ", ".join(repr(label) for label in labels)
    value = _number(direction, message)
    if not math.isfinite(value) or value != int(value) or not 0 <= value < count:
        raise ValueError(f"{message}, got {direction!r}.")
    return int(value)


# ----------------------------------------------------------------------------------------- maths (no model)
def seed_z(seed: int) -> np.ndarray:
    """(512,) float32 input noise of face ``seed`` (its own generator: no global RNG is touched)."""
    return np.random.default_rng(check_seed(seed)).standard_normal(STYLE_DIM).astype(np.float32)


def truncate(w: np.ndarray, w_avg: np.ndarray, psi: float) -> np.ndarray:
    """The truncation trick: ``w_avg + ψ (w - w_avg)``; ψ = 0 is the average face, ψ = 1 leaves w alone."""
    w = np.asarray(w, np.float32)
    return (w_avg + np.float32(psi) * (w - w_avg)).astype(np.float32)


def lerp(a: np.ndarray, b: np.ndarray, frames: int) -> np.ndarray:
    """(frames, D) points evenly spaced on the straight line from ``a`` to ``b`` (both ends included)."""
    t = np.linspace(0.0, 1.0, frames, dtype=np.float32)[:, None]
    return ((1 - t) * np.asarray(a, np.float32) + t * np.asarray(b, np.float32)).astype(np.float32)


def path_length(points: np.ndarray) -> float:
    """Sum of Euclidean distances between consecutive rows."""
    return float(np.linalg.norm(np.diff(np.asarray(points, np.float64), axis=0), axis=1).sum())


def estimate_w_avg(map_batch: Callable[[np.ndarray], np.ndarray], samples: int = W_AVG_SAMPLES,
                   seed: int = W_AVG_SEED, batch: int = MAPPING_BATCH) -> np.ndarray:
    """Mean of ``samples`` mapped styles, from a seeded z draw, mapped ``batch`` rows at a time."""
    z = np.random.default_rng(seed).standard_normal((samples, STYLE_DIM)).astype(np.float32)
    total = np.zeros(STYLE_DIM, np.float64)
    for start in range(0, samples, batch):
        total += np.asarray(map_batch(z[start:start + batch]), np.float64).sum(axis=0)
    return (total / samples).astype(np.float32)


def cache_dir() -> Path:
    """Where computed values are kept between runs: $NEURODECK_CACHE_DIR, else $XDG_CACHE_HOME/neurodeck."""
    if os.environ.get("NEURODECK_CACHE_DIR"):
        return Path(os.environ["NEURODECK_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "neurodeck"


@dataclass(frozen=True)
class WAverage:
    w_avg: np.ndarray  # (512,) float32
    samples: int
    seconds: float  # what estimating it cost when it was computed
    source: str  # "computed" or "disk cache"
    path: str  # the cache file ("" when it could not be written)


def cached_w_avg(key: str, compute: Callable[[], np.ndarray], samples: int, folder: Path | None = None) -> WAverage:
    """The average w stored under ``key`` in ``folder`` (default :func:`cache_dir`), computed once.

    A missing, unreadable or malformed file is recomputed; a folder that cannot be written (a
    read-only deployment) only costs the estimate again in the next process.
    """
    folder = cache_dir() if folder is None else Path(folder)
    path = folder / f"faces_w_avg_{key}_{samples}.npz"
    try:
        with np.load(path, allow_pickle=False) as stored:
            w_avg = np.asarray(stored["w_avg"], np.float32)
            seconds = float(stored["seconds"])
        if w_avg.shape == (STYLE_DIM,) and np.isfinite(w_avg).all():
            return WAverage(w_avg, samples, seconds, "disk cache", str(path))
    except (OSError, KeyError, ValueError, EOFError):
        pass
    started = time.perf_counter()
    w_avg = np.asarray(compute(), np.float32)
    seconds = time.perf_counter() - started
    if w_avg.shape != (STYLE_DIM,) or not np.isfinite(w_avg).all():
        raise ValueError(f"The estimated average w has shape {w_avg.shape} or non-finite values; expected ({STYLE_DIM},).")
    written = ""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp.npz"
        np.savez(staging, w_avg=w_avg, seconds=np.float64(seconds))
        os.replace(staging, path)  # atomic: a concurrent reader never sees half a file
        written = str(path)
    except OSError:
        pass
    return WAverage(w_avg, samples, seconds, "computed", written)


@dataclass(frozen=True)
class Directions:
    """GANSpace-style principal directions of w: unit ``components`` (K, 512), ``stdev`` (K,) of w along each."""

    components: np.ndarray
    stdev: np.ndarray
    mean: np.ndarray  # (512,) mean of the sampled w
    explained: np.ndarray  # (K,) fraction of w's variance along each component
    labels: tuple[str, ...]  # what each of the first few visibly changes ("" = not labelled)
    notes: str = ""

    @property
    def count(self) -> int:
        return int(len(self.components))

    def name(self, index: int) -> str:
        label = self.labels[index] if index < len(self.labels) else ""
        return f"{index}: {label}" if label else f"{index}: PC{index}"


def pca_directions(ws: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Principal directions of sampled styles (N, D) -> (components (K, D), stdev (K,), mean (D,), explained (K,)).

    Components are unit vectors sorted by variance; each sign is fixed so its largest entry is
    positive (SVD's sign is arbitrary), which makes the result reproducible.
    """
    ws = np.asarray(ws, np.float64)
    if ws.ndim != 2 or len(ws) < 2:
        raise ValueError(f"PCA needs at least two samples as an (N, D) array, got shape {ws.shape}.")
    count = min(int(count), ws.shape[1], len(ws))
    mean = ws.mean(axis=0)
    _, singular, vt = np.linalg.svd(ws - mean, full_matrices=False)
    components = vt[:count]
    signs = np.sign(components[np.arange(count), np.abs(components).argmax(axis=1)])
    components = components * signs[:, None]
    variance = singular**2 / (len(ws) - 1)
    return (components.astype(np.float32), np.sqrt(variance[:count]).astype(np.float32), mean.astype(np.float32),
            (variance[:count] / variance.sum()).astype(np.float32))


def apply_direction(w: np.ndarray, directions: Directions, index: int, amount: float) -> np.ndarray:
    """``w`` moved ``amount`` standard deviations along direction ``index``."""
    return (np.asarray(w, np.float32) + np.float32(amount) * directions.stdev[index] * directions.components[index]).astype(np.float32)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """(3, H, W) float in [-1, 1] (values beyond are clipped) -> (H, W, 3) uint8 RGB.

    ``(x + 1) * 127.5 + 0.5`` rounds to the nearest level; done in place on one float copy
    (about 4x faster than the naive chain of temporaries for a 1024² face).
    """
    work = np.array(image, dtype=np.float32, copy=True)
    work *= 127.5
    work += 128.0
    np.clip(work, 0, 255, out=work)
    return np.ascontiguousarray(work.astype(np.uint8).transpose(1, 2, 0))


def resize(image: np.ndarray, size: int) -> Image.Image:
    """(H, W, 3) uint8 -> PIL at ``size`` x ``size`` (Lanczos when shrinking)."""
    pil = Image.fromarray(image)
    if pil.width != size:
        pil = pil.resize((size, size), Image.LANCZOS, reducing_gap=2.0)
    return pil


# ----------------------------------------------------------------------------------------- the model
def ir_folder() -> Path:
    """The package's IR folder after checking the sha256 of all four IR files (once per process)."""
    return load_once(MODEL_KEY + "/verified", lambda: verified_path(get_source(MODEL_KEY)))


def _ir_digest() -> str:
    source = get_source(MODEL_KEY)
    digests = [source.sha256 or ""] + [digest for _, digest in getattr(source, "extra_files", ())]
    return hashlib.sha256("".join(digests).encode()).hexdigest()


def _float_parameters(model) -> int:
    """Number of floating-point weights in an OpenVINO model (its learned parameters)."""
    total = 0
    for op in model.get_ops():
        if op.get_type_name() == "Constant" and op.get_output_element_type(0).is_real():
            total += int(np.prod(op.get_output_shape(0), dtype=np.int64))
    return total


class _RequestPool:
    """A fixed set of infer requests of one compiled model; one caller uses a request at a time."""

    def __init__(self, compiled, size: int) -> None:
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(size):
            self._free.put(compiled.create_infer_request())

    @contextmanager
    def request(self) -> Iterator:
        request = self._free.get()
        try:
            yield request
        finally:
            self._free.put(request)


class FaceGenerator:
    """The compiled mapping and synthesis networks, safe to call from many threads at once."""

    def __init__(self, folder: Path, threads: int = DEFAULT_THREADS, streams: int = DEFAULT_STREAMS) -> None:
        import openvino as ov

        self.threads, self.streams = int(threads), int(streams)
        started = time.perf_counter()
        self._core = ov.Core()
        self._mapping_model = self._core.read_model(str(folder / "MappingNetwork.xml"))
        synthesis_model = self._core.read_model(str(folder / "SynthesisNetwork.xml"))
        self.mapping_parameters = _float_parameters(self._mapping_model)
        self.synthesis_parameters = _float_parameters(synthesis_model)
        config = {
            "INFERENCE_NUM_THREADS": self.threads * self.streams,  # spread over the streams
            "NUM_STREAMS": self.streams,
            "INFERENCE_PRECISION_HINT": "f32",  # same pixels on every CPU (no bf16 on AMX machines)
        }
        self._mapping = self._core.compile_model(self._mapping_model, "CPU", config)
        self._synthesis = self._core.compile_model(synthesis_model, "CPU", config)
        self.compile_seconds = time.perf_counter() - started
        self._mapping_pool = _RequestPool(self._mapping, self.streams)
        self._synthesis_pool = _RequestPool(self._synthesis, self.streams)
        # One inference now, in the single thread that builds the generator: OpenVINO's pybind11 sets up its
        # numpy API on first use, and two threads doing that first use at once deadlock the whole process
        # (seen: two Faces requests right after start-up hung the server, GIL held in pybind11's call_once).
        with self._mapping_pool.request() as request:
            request.infer({0: np.zeros((1, STYLE_DIM), np.float32)})
        self._batch_mapping = None
        self._batch_lock = threading.Lock()
        self._images: "OrderedDict[bytes, np.ndarray]" = OrderedDict()
        self._images_lock = threading.Lock()
        self.last_synthesis_seconds: float | None = None

    @property
    def parameters(self) -> int:
        return self.mapping_parameters + self.synthesis_parameters

    def map(self, z: np.ndarray) -> np.ndarray:
        """(512,) or (1, 512) z -> (512,) w."""
        z = np.asarray(z, np.float32).reshape(1, STYLE_DIM)
        with self._mapping_pool.request() as request:
            return np.array(request.infer({0: z})[0], np.float32).reshape(STYLE_DIM)

    def map_batch(self, z: np.ndarray) -> np.ndarray:
        """(N, 512) -> (N, 512), through a copy of the mapping network reshaped to MAPPING_BATCH rows."""
        z = np.asarray(z, np.float32)
        with self._batch_lock:
            if self._batch_mapping is None:
                model = self._core.read_model(str(ir_folder() / "MappingNetwork.xml"))
                model.reshape({0: [MAPPING_BATCH, STYLE_DIM]})
                self._batch_mapping = self._core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
            request = self._batch_mapping.create_infer_request()
        out = np.empty_like(z)
        for start in range(0, len(z), MAPPING_BATCH):
            chunk = z[start:start + MAPPING_BATCH]
            padded = np.zeros((MAPPING_BATCH, STYLE_DIM), np.float32)
            padded[: len(chunk)] = chunk
            out[start:start + len(chunk)] = request.infer({0: padded})[0][: len(chunk)]
        return out

    def synthesize_raw(self, w: np.ndarray) -> np.ndarray:
        """(512,) w -> (3, 1024, 1024) float image, always running the network (for timing)."""
        w = np.asarray(w, np.float32).reshape(1, STYLE_DIM)
        with self._synthesis_pool.request() as request:
            started = time.perf_counter()
            image = request.infer({0: w})[0][0]
            self.last_synthesis_seconds = time.perf_counter() - started
        return image

    def synthesize(self, w: np.ndarray) -> np.ndarray:
        """(512,) w -> (1024, 1024, 3) uint8 RGB; recently synthesised styles come from a small cache."""
        w = np.ascontiguousarray(np.asarray(w, np.float32).reshape(STYLE_DIM))
        key = hashlib.sha1(w.tobytes()).digest()
        with self._images_lock:
            if key in self._images:
                self._images.move_to_end(key)
                return self._images[key]
        image = to_uint8(self.synthesize_raw(w))
        image.setflags(write=False)
        with self._images_lock:
            self._images[key] = image
            while len(self._images) > IMAGE_CACHE_FACES:
                self._images.popitem(last=False)
        return image


def _threads_setting() -> tuple[int, int]:
    threads = int(os.environ.get("NEURODECK_FACES_THREADS", DEFAULT_THREADS))
    streams = int(os.environ.get("NEURODECK_FACES_STREAMS", DEFAULT_STREAMS))
    if threads < 1 or streams < 1:
        raise ValueError("NEURODECK_FACES_THREADS and NEURODECK_FACES_STREAMS must be whole numbers >= 1.")
    return threads, streams


def load_face_generator() -> FaceGenerator:
    """The compiled face generator, built once per process (sha256 of the IR checked first)."""

    def build() -> FaceGenerator:
        threads, streams = _threads_setting()
        return FaceGenerator(ir_folder(), threads, streams)

    return load_once(MODEL_KEY, build)


def w_average(generator: FaceGenerator | None = None) -> WAverage:
    """The average style, estimated once from W_AVG_SAMPLES mapped samples (disk-cached, see cached_w_avg)."""
    generator = generator or load_face_generator()
    key = _ir_digest()[:16]
    return load_once(MODEL_KEY + "/w_avg",
                     lambda: cached_w_avg(key, lambda: estimate_w_avg(generator.map_batch), W_AVG_SAMPLES))


def load_directions() -> Directions:
    """The committed principal directions and their labels (assets/gan_faces)."""

    def build() -> Directions:
        from safetensors.numpy import load_file

        path = DIRECTIONS_DIR / DIRECTIONS_FILE
        if not path.is_file():
            raise ValueError(f"{path} is missing; rebuild it with `python -m scripts.make_face_directions`.")
        tensors = load_file(str(path))
        labels_path = DIRECTIONS_DIR / LABELS_FILE
        labels, notes = (), ""
        if labels_path.is_file():
            data = json.loads(labels_path.read_text())
            labels, notes = tuple(data.get("labels", ())), data.get("notes", "")
        return Directions(tensors["components"], tensors["stdev"], tensors["mean"], tensors["explained"], labels, notes)

    return load_once(MODEL_KEY + "/directions", build)


# ----------------------------------------------------------------------------------------- what the tab shows
def styles(seeds: Sequence[int], psi: float, generator: FaceGenerator | None = None) -> np.ndarray:
    """(N, 512) truncated styles of ``seeds``."""
    generator = generator or load_face_generator()
    w_avg = w_average(generator).w_avg
    return np.stack([truncate(generator.map(seed_z(seed)), w_avg, psi) for seed in seeds])


@dataclass(frozen=True)
class Faces:
    images: tuple[Image.Image, ...]
    seeds: tuple[int, ...]
    seed: int
    psi: float
    size: int
    seconds: float

    def payload(self) -> dict:
        return {
            "seed": self.seed,
            "psi": self.psi,
            "size": self.size,
            "count": len(self.seeds),
            "images": [{"index": i, "seed": s} for i, s in enumerate(self.seeds)],
            "seconds": round(self.seconds, 3),
            "model": "MobileStyleGAN (distilled StyleGAN2, FFHQ) via OpenVINO; non-commercial licence",
        }


def _progress(on_progress, done: int, total: int, what: str) -> None:
    if on_progress is not None:
        on_progress(done, total, what)


def generate_faces(seed=0, count=1, psi=DEFAULT_PSI, size=256, on_progress=None) -> Faces:
    """``count`` faces of seeds ``seed .. seed+count-1`` at truncation ``psi``, ``size`` px square."""
    seed, count, psi, size = check_seed(seed), check_count(count), check_psi(psi), check_size(size)
    if seed + count - 1 > MAX_SEED:
        raise ValueError(f"Seeds {seed}..{seed + count - 1} go past {MAX_SEED:,}; pick a smaller seed or count.")
    generator = load_face_generator()
    started = time.perf_counter()
    seeds = tuple(range(seed, seed + count))
    images = []
    for done, w in enumerate(styles(seeds, psi, generator)):
        _progress(on_progress, done, count, f"face {done + 1} of {count}")
        images.append(resize(generator.synthesize(w), size))
    _progress(on_progress, count, count, "done")
    return Faces(tuple(images), seeds, seed, psi, size, time.perf_counter() - started)


@dataclass(frozen=True)
class Interpolation:
    frames: tuple[Image.Image, ...]
    space: str
    seed_a: int
    seed_b: int
    psi: float
    w_path_length: float  # length of the path the frames take through W
    straight_w_distance: float  # |w_b - w_a|: the shortest path
    step_unevenness: float  # largest / mean pixel change between neighbouring frames (1 = evenly paced)

    def payload(self) -> dict:
        return {
            "space": self.space,
            "seed_a": self.seed_a,
            "seed_b": self.seed_b,
            "frames": len(self.frames),
            "psi": self.psi,
            "w_path_length": round(self.w_path_length, 3),
            "straight_w_distance": round(self.straight_w_distance, 3),
            "w_path_detour": round(self.w_path_length / max(self.straight_w_distance, 1e-9), 3),
            "step_unevenness": round(self.step_unevenness, 3),
        }


def step_unevenness(images: Sequence[np.ndarray]) -> float:
    """Largest over mean mean-absolute pixel change between neighbouring frames (1.0 = perfectly even)."""
    small = [np.asarray(Image.fromarray(np.asarray(image)).resize((64, 64), Image.BILINEAR), np.float32) for image in images]
    steps = np.array([np.abs(b - a).mean() for a, b in zip(small, small[1:])])
    return float(steps.max() / steps.mean()) if steps.mean() > 0 else 1.0


def interpolate_faces(seed_a=0, seed_b=1, frames=6, space="w", psi=DEFAULT_PSI, size=256,
                      on_progress=None) -> Interpolation:
    """Faces on the straight line between two seeds, drawn in input space z or in style space w.

    In z the line is mapped point by point (so its path through W curves); in w it is the
    straight line between the two truncated styles. Both share their end faces.
    """
    seed_a, seed_b = check_seed(seed_a, "seed A"), check_seed(seed_b, "seed B")
    frames, space, psi, size = check_frames(frames), check_space(space), check_psi(psi), check_size(size)
    generator = load_face_generator()
    w_avg = w_average(generator).w_avg
    if space == "z":
        ws = np.stack([truncate(generator.map(z), w_avg, psi) for z in lerp(seed_z(seed_a), seed_z(seed_b), frames)])
    else:
        ends = styles((seed_a, seed_b), psi, generator)
        ws = lerp(ends[0], ends[1], frames)
    images = []
    for done, w in enumerate(ws):
        _progress(on_progress, done, frames, f"frame {done + 1} of {frames} ({space})")
        images.append(generator.synthesize(w))
    return Interpolation(tuple(resize(image, size) for image in images), space, seed_a, seed_b, psi, path_length(ws),
                         float(np.linalg.norm(ws[-1] - ws[0])), step_unevenness(images))


@dataclass(frozen=True)
class DirectionEdit:
    image: Image.Image
    seed: int
    direction: int
    name: str
    amount: float
    psi: float
    explained: float

    def payload(self) -> dict:
        return {"seed": self.seed, "direction": self.direction, "name": self.name, "amount": self.amount,
                "psi": self.psi, "variance_explained": round(self.explained, 4)}


def edit_direction(seed=0, direction=0, amount=0.0, psi=DEFAULT_PSI, size=512) -> DirectionEdit:
    """Face ``seed`` moved ``amount`` standard deviations along principal direction ``direction``."""
    directions = load_directions()
    seed, index = check_seed(seed), check_direction(direction, directions.count, directions.labels)
    amount, psi, size = check_amount(amount), check_psi(psi), check_size(size)
    generator = load_face_generator()
    w = apply_direction(styles((seed,), psi, generator)[0], directions, index, amount)
    return DirectionEdit(resize(generator.synthesize(w), size), seed, index, directions.name(index), amount, psi,
                         float(directions.explained[index]))


def direction_strip(seed=0, direction=0, amounts=(-3.0, -1.5, 0.0, 1.5, 3.0), psi=DEFAULT_PSI, size=192,
                    on_progress=None) -> list[Image.Image]:
    """The same face at several amounts along one direction."""
    directions = load_directions()
    seed, index, psi = check_seed(seed), check_direction(direction, directions.count, directions.labels), check_psi(psi)
    amounts = [check_amount(a) for a in amounts]
    generator = load_face_generator()
    w = styles((seed,), psi, generator)[0]
    images = []
    for done, amount in enumerate(amounts):
        _progress(on_progress, done, len(amounts), f"{directions.name(index)} at {amount:+g} σ")
        images.append(resize(generator.synthesize(apply_direction(w, directions, index, amount)), size))
    return images


def truncation_grid(seed=0, rows=3, psis=TRUNCATION_PSIS, size=192, on_progress=None) -> list[list[Image.Image]]:
    """Faces of seeds ``seed .. seed+rows-1`` (rows) at each ψ in ``psis`` (columns)."""
    seed = check_seed(seed)
    if seed + rows - 1 > MAX_SEED:
        raise ValueError(f"Seeds {seed}..{seed + rows - 1} go past {MAX_SEED:,}; pick a smaller seed.")
    psis = [check_psi(psi) for psi in psis]
    generator = load_face_generator()
    total, done, grid = rows * len(psis), 0, []
    for row in range(rows):
        line = []
        for psi in psis:
            _progress(on_progress, done, total, f"seed {seed + row}, ψ = {psi:g}")
            line.append(resize(generator.synthesize(styles((seed + row,), psi, generator)[0]), size))
            done += 1
        grid.append(line)
    return grid


def average_face(size=256) -> Image.Image:
    """The face of the average style (what every seed becomes at ψ = 0)."""
    generator = load_face_generator()
    return resize(generator.synthesize(w_average(generator).w_avg), check_size(size))


# ----------------------------------------------------------------------------------------- deepfakes
ZOOM_BOXES = (  # (label, left, top, right, bottom) as fractions of the 1024² face (FFHQ faces are aligned)
    ("mouth and teeth", 0.34, 0.62, 0.66, 0.86),
    ("ear, earring, hair edge", 0.04, 0.42, 0.30, 0.74),
    ("background", 0.70, 0.00, 1.00, 0.28),
)


@dataclass(frozen=True)
class Zoom:
    face: Image.Image  # the whole face at 1024²
    crops: tuple[tuple[str, Image.Image, tuple[int, int, int, int]], ...]  # label, crop at native pixels, box
    seed: int
    psi: float


def deepfake_zoom(seed=0, psi=1.0) -> Zoom:
    """One 1024² face and native-resolution crops where generated faces give themselves away."""
    seed, psi = check_seed(seed), check_psi(psi)
    generator = load_face_generator()
    face = Image.fromarray(generator.synthesize(styles((seed,), psi, generator)[0]))
    crops = []
    for label, *fractions in ZOOM_BOXES:
        box = tuple(int(round(f * NATIVE_SIZE)) for f in fractions)
        crops.append((label, face.crop(box), box))
    return Zoom(face, tuple(crops), seed, psi)


# ----------------------------------------------------------------------------------------- how far GANs came
@dataclass(frozen=True)
class Comparison:
    digits: Image.Image
    face: Image.Image
    figures: dict = field(default_factory=dict)


_comparison_lock = threading.Lock()
_comparison: list[Comparison] = []


def compare_generators(seed=0, remeasure: bool = False, repeats: int = 3) -> Comparison:
    """Our digits DCGAN beside this face generator: parameters, output size, measured time per image.

    Measured once per process (both generators timed here, median of ``repeats`` single-image runs;
    the face is timed with the synthesis actually run, not from the image cache); ``remeasure`` repeats it.
    """
    seed = check_seed(seed)
    with _comparison_lock:
        if _comparison and not remeasure and _comparison[0].figures["seed"] == seed:
            return _comparison[0]
        from engine.gan import inference  # torch: only when this view is opened

        digits_gan = inference.load_generator()
        digit_times = []
        for _ in range(repeats + 1):
            started = time.perf_counter()
            result = inference.generate(digits_gan, seed, "random", 1, 1.0)
            digit_times.append(time.perf_counter() - started)
        many = inference.generate(digits_gan, seed, "random", 16, 1.0)
        digit_params = sum(p.numel() for p in digits_gan.parameters())
        side = int(result.images.shape[-1])

        generator = load_face_generator()
        w = styles((seed,), DEFAULT_PSI, generator)[0]
        face_times = []
        for _ in range(repeats):
            started = time.perf_counter()
            generator.map(seed_z(seed))
            raw = generator.synthesize_raw(w)
            face_times.append(time.perf_counter() - started)
        figures = {
            "seed": seed,
            "digits_parameters": int(digit_params),
            "digits_side": side,
            "digits_seconds_per_image": float(np.median(digit_times[1:])),
            "faces_parameters": int(generator.parameters),
            "faces_mapping_parameters": int(generator.mapping_parameters),
            "faces_synthesis_parameters": int(generator.synthesis_parameters),
            "faces_side": NATIVE_SIZE,
            "faces_seconds_per_image": float(np.median(face_times)),
            "openvino_threads": generator.threads,
            "openvino_streams": generator.streams,
        }
        figures["parameter_ratio"] = figures["faces_parameters"] / max(figures["digits_parameters"], 1)
        figures["pixel_ratio"] = (NATIVE_SIZE**2 * 3) / (side**2)
        figures["time_ratio"] = figures["faces_seconds_per_image"] / max(figures["digits_seconds_per_image"], 1e-9)
        digits = _digits_row(many.images)
        comparison = Comparison(digits, Image.fromarray(to_uint8(raw)), figures)
        _comparison[:] = [comparison]
        return comparison


def _digits_row(images: np.ndarray) -> Image.Image:
    """(N, S, S) digits in [0, 1] -> one 4x4 grid at native pixels (white ink on black), RGB."""
    array = (np.clip(np.asarray(images, np.float32), 0, 1) * 255).round().astype(np.uint8)
    count, side = len(array), array.shape[-1]
    columns = 4
    rows = -(-count // columns)
    grid = np.zeros((rows * side, columns * side), np.uint8)
    for i, image in enumerate(array):
        r, c = divmod(i, columns)
        grid[r * side:(r + 1) * side, c * side:(c + 1) * side] = image
    return Image.fromarray(grid, "L").convert("RGB")
