"""Photoreal faces: MobileStyleGAN (a distilled StyleGAN2, FFHQ) run with OpenVINO: loading and generation.

The ``random-face`` package ships the model as OpenVINO IR: a mapping network z (1, 512) -> style
w (1, 512) and a synthesis network w -> image (1, 3, 1024, 1024) in about [-1, 1], RGB. Its own
Python loader uses OpenVINO's removed ``inference_engine`` API, so only its data files are used
(found with ``importlib.util.find_spec("random_face")``; the package is never imported). The four
IR files' sha256 are pinned in :mod:`engine.core.registry`; the generator is built by
``registry.load("gan-faces")`` (once per process, sha256 checked once, like every registered model).

Seeds: face ``s`` is ``z = default_rng(s).standard_normal(512)``; a request for ``count`` faces from
seed ``s`` returns the faces of seeds ``s, s+1, ...``, so any one face can be asked for again alone.

Truncation ψ: ``w' = w_avg + ψ (w - w_avg)``. The average style ``w_avg`` is estimated once from
:data:`W_AVG_SAMPLES` mapped samples and cached on disk (keyed by the mapping IR's sha256), see
:func:`cached_w_avg`.

The other views' maths live beside this module: :mod:`engine.gan.faces_interpolate` (Z vs W lines),
:mod:`engine.gan.faces_directions` (GANSpace directions), :mod:`engine.gan.faces_compare` (digits DCGAN
vs faces); drawing is in :mod:`engine.gan.faces_render`.

Concurrency: an OpenVINO ``InferRequest`` is not thread-safe, so each network keeps a small pool of
requests (one per stream); a call takes one from the pool and gives it back. No torch import here.
"""

from __future__ import annotations

import hashlib
import math
import os
import queue
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
from PIL import Image

from engine.core import validation
from engine.core.settings import LIMITS
from engine.core import idle, registry
from engine.core.registry import get_source, load_once, verified_path

MODEL_KEY = "gan-faces"  # the registry's source and task
STYLE_DIM = 512
NATIVE_SIZE = 1024
SIZES = (256, 512, 1024)
MAX_SEED = LIMITS.seed_max  # one seed range everywhere (engine.core.settings)
MAX_COUNT = 8
PSI_RANGE = (0.0, 1.0)
DEFAULT_PSI = 0.7
TRUNCATION_PSIS = (0.0, 0.5, 0.7, 1.0)
W_AVG_SAMPLES = 4096  # "a few thousand mapped samples"
W_AVG_SEED = 2021
MAPPING_BATCH = 256  # batch of the one-off mapping model used for w_avg and PCA sampling
IMAGE_CACHE_FACES = 48  # synthesised 1024² faces kept in memory (3 MiB each, 144 MiB in all)


# OpenVINO threads for the synthesis network. Measured by benchmarks/bench_faces.py on the 2-core
# reference machine (figures in docs/faces.md): one thread per request and one stream per queue
# worker, so two users synthesise at the same time instead of queueing behind each other.
DEFAULT_THREADS = 1
DEFAULT_STREAMS = 2


# ----------------------------------------------------------------------------------------- checks
def _number(value, what: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{what}, got {validation.quote(value)}.")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}, got {validation.quote(value)}.") from None


def check_seed(seed, name: str = "seed") -> int:
    return validation.check_seed(seed, name)


def check_count(count) -> int:
    message = f"The count must be a whole number of faces from 1 to {MAX_COUNT}"
    value = _number(count, message)
    if not math.isfinite(value) or value != int(value) or not 1 <= value <= MAX_COUNT:
        raise ValueError(f"{message}, got {validation.quote(count)}.")
    return int(value)


def check_psi(psi) -> float:
    message = f"Truncation ψ must be a number from {PSI_RANGE[0]:g} to {PSI_RANGE[1]:g} (0 = the average face, 1 = no truncation)"
    value = _number(psi, message)
    if not math.isfinite(value) or not PSI_RANGE[0] <= value <= PSI_RANGE[1]:
        raise ValueError(f"{message}, got {validation.quote(psi)}.")
    return value


def check_size(size) -> int:
    message = f"The size must be one of {', '.join(map(str, SIZES))} pixels"
    value = _number(str(size).strip().removesuffix("px") if isinstance(size, str) else size, message)
    if not math.isfinite(value) or int(value) != value or int(value) not in SIZES:
        raise ValueError(f"{message}, got {validation.quote(size)}.")
    return int(value)


# ----------------------------------------------------------------------------------------- maths (no model)
def seed_z(seed: int) -> np.ndarray:
    """(512,) float32 input noise of face ``seed`` (its own generator: no global RNG is touched)."""
    return np.random.default_rng(check_seed(seed)).standard_normal(STYLE_DIM).astype(np.float32)


def truncate(w: np.ndarray, w_avg: np.ndarray, psi: float) -> np.ndarray:
    """The truncation trick: ``w_avg + ψ (w - w_avg)``; ψ = 0 is the average face, ψ = 1 leaves w alone."""
    w = np.asarray(w, np.float32)
    return (w_avg + np.float32(psi) * (w - w_avg)).astype(np.float32)



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
    return verified_path(get_source(MODEL_KEY))


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


def noise_as_inputs(model) -> dict[str, np.ndarray]:
    """Rewire each synthesis layer's ``(x + noise) + bias`` as ``x + (noise + bias)`` with the noise a model input.

    OpenVINO's CPU plugin folds the two constants (noise, 1×1×H×W, and bias, 1×C×1×1) into one C×H×W constant per
    layer and keeps it twice (as computed and reordered to its blocked layout): 540 MB for the 1024 px network, held
    for good. As inputs, ``noise + bias`` is computed per face in buffers that are reused and released when idle;
    the arithmetic is the one the plugin ran (its fold is the same float32 ``noise + bias``), so the pixels are
    bit-identical (tests/engine/gan/test_faces.py). Returns the new inputs' names and their constant values; the
    model is changed in place.
    """
    import openvino.opset13 as ops

    noise: dict[str, np.ndarray] = {}
    for add in model.get_ordered_ops():
        if add.get_type_name() != "Add":
            continue
        x, constant = add.input_value(0), add.input_value(1)
        shape = list(constant.get_partial_shape().to_shape()) if constant.get_partial_shape().is_static else []
        if constant.get_node().get_type_name() != "Constant" or len(shape) != 4 or shape[:2] != [1, 1]:
            continue
        users = list(add.output(0).get_target_inputs())
        if len(users) != 1 or users[0].get_node().get_type_name() != "Add":
            continue
        bias_add = users[0].get_node()
        bias = bias_add.input_value(1)
        if bias.get_node().get_type_name() != "Constant":
            continue
        name = f"neurodeck_noise_{len(noise)}"
        parameter = ops.parameter(shape, np.float32, name=name)
        parameter.output(0).get_tensor().set_names({name})
        noise[name] = np.array(constant.get_node().get_data(), np.float32, order="C")  # a copy: OpenVINO shares it
        bias_add.output(0).replace(ops.add(x, ops.add(parameter, bias)).output(0))
        model.add_parameters([parameter])
    model.validate_nodes_and_infer_types()
    return noise


class _RequestPool:
    """A fixed set of infer requests of one compiled model; one caller uses a request at a time.

    ``fixed`` inputs (name -> array) are set once on every request, sharing the arrays' memory.
    """

    def __init__(self, compiled, size: int, fixed: dict[str, np.ndarray] | None = None) -> None:
        import openvino as ov

        self._size = size
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(size):
            request = compiled.create_infer_request()
            for name, array in (fixed or {}).items():
                request.set_tensor(name, ov.Tensor(array, shared_memory=True))
            self._free.put(request)

    @contextmanager
    def request(self) -> Iterator:
        request = self._free.get()
        try:
            yield request
        finally:
            self._free.put(request)

    @contextmanager
    def all_free(self) -> Iterator[bool]:
        """Hold every request if none is in use (yields True), else hold none (yields False): never waits."""
        held = []
        try:
            while len(held) < self._size:
                try:
                    held.append(self._free.get_nowait())
                except queue.Empty:
                    break
            yield len(held) == self._size
        finally:
            for request in held:
                self._free.put(request)


class FaceGenerator:
    """The compiled mapping and synthesis networks, safe to call from many threads at once."""

    def __init__(self, folder: Path, threads: int = DEFAULT_THREADS, streams: int = DEFAULT_STREAMS,
                 noise_inputs: bool = True) -> None:
        import openvino as ov

        self.folder = Path(folder)
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
        # After counting parameters (the noise stays one of them). noise_inputs=False keeps the IR as packaged:
        # ~480 MB more held for good, ~5-10% less CPU per face (docs/load.md).
        self._noise = noise_as_inputs(synthesis_model) if noise_inputs else {}
        self._mapping = self._core.compile_model(self._mapping_model, "CPU", config)
        self._synthesis = self._core.compile_model(synthesis_model, "CPU", config)
        self.compile_seconds = time.perf_counter() - started
        self._mapping_pool = _RequestPool(self._mapping, self.streams)
        self._synthesis_pool = _RequestPool(self._synthesis, self.streams, self._noise)
        # One inference now, in the single thread that builds the generator: OpenVINO's pybind11 sets up its
        # numpy API on first use, and two threads doing that first use at once deadlock the whole process (the
        # GIL held in pybind11's call_once): two first Faces requests at once would hang the server.
        with self._mapping_pool.request() as request:
            request.infer({0: np.zeros((1, STYLE_DIM), np.float32)})
        self._batch_mapping = None
        self._batch_lock = threading.Lock()
        self._images: "OrderedDict[bytes, np.ndarray]" = OrderedDict()
        self._images_lock = threading.Lock()
        self.last_synthesis_seconds: float | None = None
        self.releases = 0  # times release_idle_memory freed the buffers (tests, logs)
        idle.register(self.release_idle_memory)

    def release_idle_memory(self) -> bool:
        """Free the networks' intermediate buffers (~180 MB per stream at 1024 px); the next face allocates them
        again (page faults: tens of ms on a ~0.5 s synthesis). Called by the app's janitor when the app is idle;
        skipped (False) if a face is being made. Weights, compiled kernels and cached faces stay."""
        with self._mapping_pool.all_free() as mapping_free, self._synthesis_pool.all_free() as synthesis_free:
            if not (mapping_free and synthesis_free):
                return False
            # The one-off batch mapping copy (w_avg, PCA) runs outside these pools and holds little: left alone.
            self._mapping.release_memory()
            self._synthesis.release_memory()
        self.releases += 1
        return True

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
                model = self._core.read_model(str(self.folder / "MappingNetwork.xml"))
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


def _noise_inputs_setting() -> bool:
    """``NEURODECK_FACES_NOISE=folded`` keeps the packaged IR's constant noise (faster, 480 MB more); else inputs."""
    value = os.environ.get("NEURODECK_FACES_NOISE", "inputs").strip().lower()
    if value not in ("inputs", "folded"):
        raise ValueError(f"NEURODECK_FACES_NOISE must be 'inputs' or 'folded', not {value[:40]!r}.")
    return value == "inputs"


def build_registered(source, folder: Path) -> FaceGenerator:
    """Registry builder (``engine.core.registry.TASKS["gan-faces"]``): the verified IR folder -> the generator."""
    threads, streams = _threads_setting()
    return FaceGenerator(folder, threads, streams, _noise_inputs_setting())


def load_face_generator() -> FaceGenerator:
    """The compiled face generator: ``registry.load("gan-faces")``, built once per process (sha256 checked once)."""
    return registry.load(MODEL_KEY)


def w_average(generator: FaceGenerator | None = None) -> WAverage:
    """The average style, estimated once from W_AVG_SAMPLES mapped samples (disk-cached, see cached_w_avg)."""
    generator = generator or load_face_generator()
    key = _ir_digest()[:16]
    return load_once(MODEL_KEY + "/w_avg",
                     lambda: cached_w_avg(key, lambda: estimate_w_avg(generator.map_batch), W_AVG_SAMPLES))


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
