"""Using the committed VAEs (Autoencoder > Variational): encode a digit, sample the prior, the 2-D maps.

Three models of one architecture (:class:`engine.autoencoder.models.DigitsVAE`) on the GAN's 32x32 digits, in
``assets/vae_digits``: ``latent_16`` (the VAE that samples), ``latent_2`` (the VAE drawn as a map) and ``ae_2`` (a plain
autoencoder, beta 0 and deterministic, drawn beside it). Seeds map to latents deterministically: sample ``i`` of seed
``s`` is row ``i`` of a (MAX_COUNT, latent_dim) normal draw from ``torch_generator(s)``, whatever the count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from engine.autoencoder.models import DigitsVAE
from engine.autoencoder.vae_train import kl_per_item, recon_per_item, reparameterize, training_digits
from engine.core import validation
from engine.core.registry import ASSETS_DIR, load_once
from engine.core.settings import LIMITS
from engine.core.seeding import numpy_rng, torch_generator

MODEL_NAMES = ("latent_16", "latent_2", "ae_2")
SAMPLER = "latent_16"
MAX_COUNT = 64  # most samples one request may draw
MAX_SEED = LIMITS.seed_max  # one seed range everywhere
MAP_MARGIN = 0.1  # each map's axes extend this fraction beyond its encoded test digits
HOLES_POINTS = 500  # random points per map for the "holes" figures
CONFIDENT = 0.9  # the judge's probability above which a decoded point counts as a clear digit


def build_registered(source, folder) -> dict[str, DigitsVAE]:
    """Registry builder (task ``autoencoder-vae``): the three models by name."""
    return {name: DigitsVAE.from_pretrained(folder / name, use_safetensors=True, low_cpu_mem_usage=False).eval()
            for name in MODEL_NAMES}


def load_models() -> dict[str, DigitsVAE]:
    from engine.core import registry

    return registry.load("autoencoder-vae")


# ------------------------------------------------------------------------------------------- checks
def _whole(value, name: str, low: int, high: int) -> int:
    return int(validation.check_number(value, name, low, high, whole=True))


def check_seed(seed) -> int:
    return validation.check_seed(seed)


def check_count(count) -> int:
    return _whole(count, "count", 1, MAX_COUNT)


# ------------------------------------------------------------------------------------------- sampling
@dataclass(frozen=True)
class VaeSamples:
    images: np.ndarray  # (count, 32, 32) float32 in [0, 1], ink = 1
    z: np.ndarray  # (count, latent_dim) the prior draws decoded
    seed: int


def prior_latents(seed: int, latent_dim: int) -> torch.Tensor:
    """(MAX_COUNT, latent_dim) standard normal draws for ``seed`` (row i does not depend on the count asked for)."""
    return torch.randn(MAX_COUNT, latent_dim, generator=torch_generator(seed))


@torch.no_grad()
def sample_prior(seed: int, count: int = 16) -> VaeSamples:
    """Decode ``count`` draws z ~ N(0, I) with the 16-D VAE. Deterministic per seed; first rows agree across counts."""
    seed, count = check_seed(seed), check_count(count)
    model = load_models()[SAMPLER]
    z = prior_latents(seed, model.config.latent_dim)[:count]
    images = model.decode_images(z)[:, 0].numpy().astype(np.float32)
    return VaeSamples(images=images, z=z.numpy(), seed=seed)


def model_facts() -> dict:
    """The sampling VAE's size and CPU training time (from its training.json)."""
    model = load_models()[SAMPLER]
    record = json.loads((ASSETS_DIR / "vae_digits" / SAMPLER / "training.json").read_text())
    return {"parameters": int(sum(p.numel() for p in model.parameters())),
            "training_seconds": float(record["metrics"]["training_seconds"])}


# ------------------------------------------------------------------------------------------- encoding
def kl_divergence(mu, log_var) -> float:
    """KL(N(mu, exp(log_var)) || N(0, I)) = 0.5 * sum(mu^2 + exp(log_var) - 1 - log_var), in float64 (nats)."""
    mu, log_var = np.asarray(mu, np.float64), np.asarray(log_var, np.float64)
    return float(0.5 * np.sum(mu**2 + np.exp(log_var) - 1 - log_var))


@dataclass(frozen=True)
class VaeEncoding:
    image: np.ndarray  # (32, 32) the digit as the VAE sees it
    mu: np.ndarray  # (latent_dim,) float32
    log_var: np.ndarray  # (latent_dim,) float32
    reconstruction: np.ndarray  # (32, 32) decoded from mu
    kl: float  # nats, from mu and log_var exactly as reported
    reconstruction_error: float  # binary cross-entropy summed over the 1,024 pixels (nats), decoding mu
    reconstruction_mse: float  # mean squared error per pixel
    reconstruction_floor: float  # the cross-entropy a perfect copy still pays: the grey pixels' entropy (nats)
    map_vae: tuple[np.ndarray, np.ndarray]  # the 2-D VAE's (mu, sigma) for this digit
    map_ae: np.ndarray  # the plain 2-D autoencoder's point for this digit

    def info(self) -> dict:
        return {"mu": [float(v) for v in self.mu], "log_var": [float(v) for v in self.log_var],
                "sigma": [round(float(np.exp(0.5 * v)), 4) for v in self.log_var],
                "kl": self.kl, "reconstruction_error": round(self.reconstruction_error, 4),
                "reconstruction_mse": round(self.reconstruction_mse, 6),
                "reconstruction_floor": round(self.reconstruction_floor, 4), "latent_dim": len(self.mu),
                "map_2d": {"vae_mu": [round(float(v), 4) for v in self.map_vae[0]],
                           "vae_sigma": [round(float(v), 4) for v in self.map_vae[1]],
                           "ae_point": [round(float(v), 4) for v in self.map_ae]}}


def as_model_input(image: Image.Image) -> np.ndarray:
    """An RGB PIL image -> (32, 32) float32 in [0, 1] in the training layout: cropped, centred and reduced to 8x8 like
    scikit-learn's digits, then upscaled, as the GAN tab's judge reads uploads and sketches (a sketchpad stroke
    area-averaged straight down to 32x32 was a third as thick as the training digits' strokes)."""
    from engine.gan.inference import image_to_judge_view

    pixels = image_to_judge_view(image, 32)
    if pixels is None:
        raise ValueError("The image looks blank: draw or upload a digit with visible strokes.")
    return pixels


@torch.no_grad()
def encode_array(pixels: np.ndarray) -> VaeEncoding:
    """Encode a (32, 32) digit in [0, 1] with the 16-D VAE (and place it on both 2-D maps)."""
    models = load_models()
    x = torch.as_tensor(np.asarray(pixels, np.float32)).clamp(0, 1)[None, None]
    if x.shape[-2:] != (32, 32):
        raise ValueError(f"The VAE reads 32x32 digits; got an array of shape {tuple(np.shape(pixels))}.")
    if float(x.max()) < 0.05:
        raise ValueError("The image looks blank: draw or upload a digit with visible strokes.")
    mu, log_var = models[SAMPLER].encode(x)
    logits = models[SAMPLER].decode(mu)
    mu_np, log_var_np = mu[0].numpy(), log_var[0].numpy()
    map_mu, map_log_var = models["latent_2"].encode(x)
    ae_point, _ = models["ae_2"].encode(x)
    reconstruction = torch.sigmoid(logits)[0, 0]
    return VaeEncoding(
        image=x[0, 0].numpy(), mu=mu_np, log_var=log_var_np, reconstruction=reconstruction.numpy(),
        kl=kl_divergence([float(v) for v in mu_np], [float(v) for v in log_var_np]),
        reconstruction_error=float(recon_per_item(logits, x)[0]),
        reconstruction_mse=float(((reconstruction - x[0, 0]) ** 2).mean()),
        reconstruction_floor=float(recon_per_item(torch.logit(x, eps=1e-6), x)[0]),
        map_vae=(map_mu[0].numpy(), (0.5 * map_log_var[0]).exp().numpy()), map_ae=ae_point[0].numpy())


def encode_image(image: Image.Image) -> VaeEncoding:
    return encode_array(as_model_input(image))


def sample_posterior(encoding: VaeEncoding, seed: int, count: int = 8) -> np.ndarray:
    """``count`` decodes of z = mu + sigma * eps (the reparameterisation), eps from ``seed``: (count, 32, 32)."""
    model = load_models()[SAMPLER]
    mu = torch.as_tensor(encoding.mu)[None].repeat(count, 1)
    log_var = torch.as_tensor(encoding.log_var)[None].repeat(count, 1)
    with torch.no_grad():
        return model.decode_images(reparameterize(mu, log_var, torch_generator(seed)))[:, 0].numpy()


# ------------------------------------------------------------------------------------------- the 2-D maps
@dataclass(frozen=True)
class LatentMaps:
    labels: np.ndarray  # (M,) test digit classes
    vae_mu: np.ndarray  # (M, 2) the 2-D VAE's posterior means of the test digits
    vae_sigma: np.ndarray  # (M, 2) their standard deviations
    ae_points: np.ndarray  # (M, 2) the plain autoencoder's codes of the test digits
    vae_box: tuple[tuple[float, float], tuple[float, float]]  # (x range, y range) of the VAE map
    ae_box: tuple[tuple[float, float], tuple[float, float]]
    mean_kl: float  # the 2-D VAE's mean KL over the test digits (nats)


def _box(points: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    low, high = points.min(axis=0), points.max(axis=0)
    pad = (high - low) * MAP_MARGIN
    return ((float(low[0] - pad[0]), float(high[0] + pad[0])), (float(low[1] - pad[1]), float(high[1] + pad[1])))


def latent_maps() -> LatentMaps:
    """Both 2-D models' codes of the 360 test digits (computed once per process)."""

    @torch.no_grad()
    def build() -> LatentMaps:
        models = load_models()
        _, _, test_x, test_y = training_digits()
        mu, log_var = models["latent_2"].encode(test_x)
        ae, _ = models["ae_2"].encode(test_x)
        mu_np, ae_np = mu.numpy(), ae.numpy()
        return LatentMaps(test_y.numpy(), mu_np, (0.5 * log_var).exp().numpy(), ae_np, _box(mu_np), _box(ae_np),
                          float(kl_per_item(mu, log_var).mean()))

    return load_once("vae-latent-maps", build)


def _in_box(unit: np.ndarray, box) -> np.ndarray:
    (x0, x1), (y0, y1) = box
    return np.stack([x0 + unit[:, 0] * (x1 - x0), y0 + unit[:, 1] * (y1 - y0)], axis=1).astype(np.float32)


@dataclass(frozen=True)
class RandomPoints:
    seed: int
    unit: np.ndarray  # (N, 2) the draws in [0, 1]^2: the same relative place in each map's box
    ae_points: np.ndarray
    vae_points: np.ndarray
    ae_images: np.ndarray  # (N, 32, 32)
    vae_images: np.ndarray
    ae_reading: np.ndarray  # (N,) the judge's class for each decode
    ae_confidence: np.ndarray  # (N,) its probability
    vae_reading: np.ndarray
    vae_confidence: np.ndarray


def judge_readings(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GAN tab's judge on (N, 32, 32) digits: (class read (N,), its probability (N,))."""
    from engine.gan.inference import load_judge
    from engine.gan.judge import predict

    logits, _ = predict(load_judge(), torch.as_tensor(images)[:, None])
    probabilities = torch.softmax(torch.as_tensor(logits), dim=1).numpy()
    return probabilities.argmax(1), probabilities.max(1)


@torch.no_grad()
def random_points(seed: int, count: int = 1) -> RandomPoints:
    """``count`` uniform points in each 2-D map's box (box of the encoded test digits plus a margin), decoded by
    both models and read by the GAN tab's judge. The same seed gives the same relative places in both maps."""
    seed = check_seed(seed)
    models, maps = load_models(), latent_maps()
    unit = numpy_rng(seed).random((count, 2))
    ae_points, vae_points = _in_box(unit, maps.ae_box), _in_box(unit, maps.vae_box)
    ae_images = models["ae_2"].decode_images(torch.from_numpy(ae_points))[:, 0].numpy()
    vae_images = models["latent_2"].decode_images(torch.from_numpy(vae_points))[:, 0].numpy()
    ae_reading, ae_confidence = judge_readings(ae_images)
    vae_reading, vae_confidence = judge_readings(vae_images)
    return RandomPoints(seed, unit, ae_points, vae_points, ae_images, vae_images, ae_reading, ae_confidence,
                        vae_reading, vae_confidence)


def population(images: np.ndarray, reading: np.ndarray, confidence: np.ndarray, heldout_features) -> dict:
    """Figures of a set of decodes read by the judge: clear share, classes read, most common class and its share,
    Fréchet distance to ``heldout_features`` (the judge's features of real held-out digits)."""
    from engine.gan.inference import load_judge
    from engine.gan.judge import frechet_distance, predict

    _, features = predict(load_judge(), torch.as_tensor(images)[:, None])
    counts = np.bincount(reading, minlength=10)
    return {"clear_share": float((confidence > CONFIDENT).mean()), "classes_read": int((counts > 0).sum()),
            "top_class": int(counts.argmax()), "top_class_share": float(counts.max() / len(reading)),
            "fid": float(frechet_distance(features, heldout_features))}


def holes_figure() -> dict:
    """:data:`HOLES_POINTS` random points per map (seed 0, uniform in each box), decoded and read by the judge: the
    share read clearly (probability above :data:`CONFIDENT`), the classes read, the most common class and its share,
    and the Fréchet distance of the decodes to the held-out digits in the judge's features (computed once)."""

    def build() -> dict:
        from engine.gan.inference import load_judge
        from engine.gan.judge import predict

        points = random_points(0, HOLES_POINTS)
        _, _, test_x, _ = training_digits()
        _, heldout = predict(load_judge(), test_x)
        return {"points": HOLES_POINTS, "threshold": CONFIDENT, "heldout_count": len(heldout),
                "ae": population(points.ae_images, points.ae_reading, points.ae_confidence, heldout),
                "vae": population(points.vae_images, points.vae_reading, points.vae_confidence, heldout)}

    return load_once("vae-holes", build)
