"""Integrated gradients (Sundararajan et al., 2017) for NeuroDeck's classifiers: images and text.

IG attributes the difference ``logit(x) - logit(baseline)`` of one class to the input's features:
``IG_i = (x_i - b_i) * integral_0^1 d logit / d x_i (b + a (x - b)) da``. The integral is taken with
captum's ``IntegratedGradients`` (Gauss-Legendre nodes; the steps are batched through the model,
``internal_batch_size`` at a time), so the attributions sum to the logit difference up to the
quadrature error: the *completeness gap* every result reports.

Why plain ``IntegratedGradients`` and never captum's layer variants or hooks: the models here are shared
by every request (the ImageNet model, the example run's text model), and a forward hook registered by
one request would fire in another's forward pass. Text is attributed on the word embeddings by running
the model from ``inputs_embeds`` (what ``LayerIntegratedGradients`` on the embedding layer computes;
tests/engine/transfer/test_attribution.py checks the two agree), so nothing is registered on a model.

The attributions depend on the baseline (black, blurred, noise: :func:`image_baseline`) and show which
inputs the *gradient path* credits; they are not a proof of how the network reasons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from PIL import Image

from engine.transfer.options import ATTRIBUTION_BASELINES as BASELINES
from engine.transfer.options import ATTRIBUTION_CAVEAT as CAVEAT  # noqa: F401  (re-exported for the views)
from engine.transfer.options import ATTRIBUTION_MAX_STEPS as MAX_STEPS
from engine.transfer.options import ATTRIBUTION_METHODS as METHODS
from engine.transfer.options import ATTRIBUTION_MIN_STEPS as MIN_STEPS
from engine.transfer.options import ATTRIBUTION_STEPS as DEFAULT_STEPS

INTERNAL_BATCH = 16  # steps per forward/backward batch (benchmarks/bench_attribution.py measures the choice)
# Gauss-Legendre meets 1 % completeness at 64 steps on smooth models (MiniLM, the digits ViT, the tiny test models)
# where the trapezoid rule needs more. On EfficientNet-Lite0 from black no evenly spread rule does: the top logit
# rises within the first 4-8 % of the path (the network saturates on a still very dark picture) and its ReLU6
# gradients jump there, so the gap is 0-18 % at 64 steps depending on the photo. It is measured and shown, never
# hidden (docs/attribution.md, with an adaptive node placement that was tried and is not better enough to keep).
QUADRATURE = "gausslegendre"
BLUR_RADIUS = 12  # px at 224x224: the picture's layout survives, its edges and textures do not
NOISE_SEED = 0  # the noise baseline is the same picture every time (a per-call generator, never the process seed)


@dataclass(frozen=True)
class Attribution:
    attributions: np.ndarray  # same shape as the input (no batch axis), float32
    target: int  # the explained class index
    logit: float  # logit of ``target`` for the input
    baseline_logit: float  # logit of ``target`` for the baseline
    steps: int
    baseline: str  # which baseline ("black", "blurred", "noise", "pad tokens")

    @property
    def attribution_sum(self) -> float:
        return float(self.attributions.astype(np.float64).sum())

    @property
    def difference(self) -> float:
        """logit(input) - logit(baseline): what the attributions should sum to."""
        return self.logit - self.baseline_logit

    @property
    def gap(self) -> float:
        """|sum - difference| / |difference|: the completeness error (0 = exact)."""
        return abs(self.attribution_sum - self.difference) / max(abs(self.difference), 1e-12)


# ---------------------------------------------------------------------------- checks

def check_steps(steps) -> int:
    """A whole number of integration steps in MIN_STEPS..MAX_STEPS (ValueError otherwise)."""
    try:
        value = float(steps)
    except (TypeError, ValueError):
        raise ValueError(f"steps must be a whole number between {MIN_STEPS} and {MAX_STEPS} "
                         f"(got {str(steps)[:80]!r}).") from None
    if not math.isfinite(value) or value != int(value):
        raise ValueError(f"steps must be a whole number between {MIN_STEPS} and {MAX_STEPS} (got {steps!r}).")
    if not MIN_STEPS <= int(value) <= MAX_STEPS:
        raise ValueError(f"steps must be between {MIN_STEPS} and {MAX_STEPS} (got {int(value)}); "
                         f"{DEFAULT_STEPS} is the default.")
    return int(value)


def check_method(method) -> str:
    compact = lambda text: "".join(c for c in str(text).lower() if c.isalnum())  # noqa: E731  ("Grad-CAM", "IG" ...)
    name = {compact(m): m for m in METHODS}.get(compact(method or METHODS[0]))
    name = name or ("integrated_gradients" if compact(method) == "ig" else None)
    if name is None:
        raise ValueError(f"Unknown attribution method {str(method)[:80]!r}; choose one of {', '.join(METHODS)}.")
    return name


def check_baseline(baseline) -> str:
    name = str(baseline or BASELINES[0]).strip().lower()
    if name not in BASELINES:
        raise ValueError(f"Unknown baseline {str(baseline)[:80]!r}; choose one of {', '.join(BASELINES)}.")
    return name


def resolve_target(target, labels: tuple[str, ...], logits: np.ndarray) -> int:
    """None / "" -> the top-1 class; an index (int or digits) or a label (case-insensitive) -> its index."""
    if target is None or (isinstance(target, str) and not target.strip()):
        return int(np.argmax(logits))
    count = len(labels)
    if isinstance(target, float) and not float(target).is_integer():
        raise ValueError(f"target must be a class index 0..{count - 1} or a class label (got {target!r}).")
    text = str(int(target)) if isinstance(target, (int, float, np.integer)) else str(target).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < count:
            raise ValueError(f"target {index} is out of range: use a class index 0..{count - 1}, a label, or "
                             "leave it empty for the top-1 class.")
        return index
    lowered = [label.lower() for label in labels]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    raise ValueError(f"Unknown target class {text[:80]!r}: use a class index 0..{count - 1}, one of the model's "
                     "labels, or leave it empty for the top-1 class.")


# ---------------------------------------------------------------------------- the integral

def integrated_gradients(forward: Callable[..., torch.Tensor], inputs: torch.Tensor, baseline: torch.Tensor,
                         target: int, steps: int = DEFAULT_STEPS, internal_batch_size: int = INTERNAL_BATCH,
                         method: str = QUADRATURE, extra_args: tuple = (), baseline_name: str = "black") -> Attribution:
    """captum's IG of ``forward(inputs, *extra_args)[:, target]`` from ``baseline`` to ``inputs`` (batch of 1).

    ``forward`` maps a batch to (N, classes) logits; ``extra_args`` (tensors with a batch axis of 1, such as an
    attention mask) are repeated for each step by captum.
    """
    from captum.attr import IntegratedGradients

    if inputs.shape[0] != 1 or baseline.shape != inputs.shape:
        raise ValueError("Integrated gradients explains one input at a time: inputs and baseline must be (1, ...).")
    steps = check_steps(steps)
    with torch.no_grad():
        logit = float(forward(inputs, *extra_args)[0, target])
        baseline_logit = float(forward(baseline, *extra_args)[0, target])
    explainer = IntegratedGradients(forward)
    with torch.enable_grad():
        attributions = explainer.attribute(
            inputs.detach(), baselines=baseline.detach(), target=int(target), n_steps=steps, method=method,
            internal_batch_size=max(1, int(internal_batch_size)), additional_forward_args=extra_args or None,
        )
    return Attribution(attributions[0].detach().float().numpy(), int(target), logit, baseline_logit, steps, baseline_name)


def riemann_integrated_gradients(forward: Callable[..., torch.Tensor], inputs: torch.Tensor, baseline: torch.Tensor,
                                 target: int, steps: int, extra_args: tuple = ()) -> np.ndarray:
    """A reference IG written out by hand (midpoint Riemann sum, one step per forward/backward), for checks.

    Independent of captum: the docs and tests compare it with :func:`integrated_gradients`.
    """
    total = torch.zeros_like(inputs, dtype=torch.float64)
    for k in range(steps):
        alpha = (k + 0.5) / steps
        point = (baseline + alpha * (inputs - baseline)).detach().requires_grad_(True)
        with torch.enable_grad():
            (gradient,) = torch.autograd.grad(forward(point, *extra_args)[0, target], point)
        total += gradient.double()
    return ((inputs - baseline).double() * total / steps)[0].float().numpy()


# ---------------------------------------------------------------------------- images

def image_baseline(pixels: torch.Tensor, kind: str = "black", low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    """A baseline the shape of ``pixels`` (1, C, H, W), in the same preprocessed pixel space.

    black: every pixel at ``low`` (the classifier's own black after its preprocessing); blurred: the picture
    under a Gaussian blur of BLUR_RADIUS px (at 224 px; scaled with the side); noise: uniform in [low, high]
    from a fixed-seed generator.
    """
    kind = check_baseline(kind)
    if kind == "black":
        return torch.full_like(pixels, float(low))
    if kind == "noise":
        generator = torch.Generator().manual_seed(NOISE_SEED)
        return low + (high - low) * torch.rand(pixels.shape, generator=generator, dtype=pixels.dtype)
    sigma = BLUR_RADIUS * pixels.shape[-1] / 224
    half = max(1, min(int(3 * sigma), pixels.shape[-1] // 2 - 1, pixels.shape[-2] // 2 - 1))
    offsets = torch.arange(-half, half + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = (kernel / kernel.sum()).to(pixels.dtype)
    channels = pixels.shape[1]
    blurred = torch.nn.functional.pad(pixels.detach(), (half, half, half, half), mode="reflect")
    blurred = torch.nn.functional.conv2d(blurred, kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
    blurred = torch.nn.functional.conv2d(blurred, kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)
    return blurred.contiguous()


def attribution_map(attributions: np.ndarray, percentile: float = 99.0) -> np.ndarray:
    """(C, H, W) attributions -> (H, W) float32 in [0, 1]: |sum over channels|, scaled to its ``percentile``.

    Pixel-level IG is dominated by a few extreme pixels; clipping at the 99th percentile (captum's
    ``visualize_image_attr`` default) keeps the rest visible. An all-zero map stays all zero.
    """
    values = np.abs(np.asarray(attributions, dtype=np.float32).reshape(-1, *np.shape(attributions)[-2:]).sum(0))
    top = float(np.percentile(values, percentile)) if values.size else 0.0
    if not np.isfinite(top) or top <= 0:
        return np.zeros(values.shape, dtype=np.float32)
    return np.clip(values / top, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class ImagenetAttribution:
    method: str  # "integrated_gradients" or "gradcam"
    heatmap: np.ndarray  # (224, 224) float32 in [0, 1]
    target: int
    target_label: str
    logit: float
    attribution: Attribution | None  # None for Grad-CAM (no completeness)
    model_input: Image.Image  # the 224x224 crop the model saw
    display: Image.Image  # the same crop at the display size

    def payload(self) -> dict:
        ig = self.attribution
        data = {
            "method": self.method, "target_class": self.target, "target_label": self.target_label,
            "logit": round(self.logit, 6),
            "baseline_logit": None if ig is None else round(ig.baseline_logit, 6),
            "attribution_sum": None if ig is None else round(ig.attribution_sum, 6),
        }
        if ig is not None:
            data.update(steps=ig.steps, baseline=ig.baseline, completeness_gap=round(ig.gap, 6))
        return data


def imagenet_attribution(image, method: str = "integrated_gradients", steps: int = DEFAULT_STEPS, target=None,
                         baseline: str = "black", internal_batch_size: int = INTERNAL_BATCH) -> ImagenetAttribution:
    """Explain EfficientNet-Lite0's logit of ``target`` (None = top-1) for one picture.

    Preprocessing is the classifier's own (:func:`engine.transfer.imagenet.preprocess`: 224 centre crop,
    [0, 1] pixels, normalised inside the model), and the baseline lives in that same space (black = 0).
    """
    from engine.core.validation import load_photo
    from engine.transfer.gradcam import efficientnet_gradcam
    from engine.transfer.imagenet import display_crop, imagenet_labels, imagenet_model, preprocess

    method = check_method(method)
    steps = check_steps(steps)
    kind = check_baseline(baseline)
    picture = load_photo(image)
    pixels, crop = preprocess(picture)
    model = imagenet_model()
    forward = lambda batch: model(batch.contiguous(memory_format=torch.channels_last))  # noqa: E731
    labels = imagenet_labels()
    with torch.no_grad():
        logits = forward(pixels)[0].numpy()
    index = resolve_target(target, labels, logits)
    if method == "gradcam":
        cam = efficientnet_gradcam(model, pixels.contiguous(memory_format=torch.channels_last), classes=[index])
        return ImagenetAttribution(method, cam.maps[0], index, labels[index], float(logits[index]), None, crop,
                                   display_crop(picture))
    result = integrated_gradients(forward, pixels, image_baseline(pixels, kind), index, steps,
                                  internal_batch_size, baseline_name=kind)
    return ImagenetAttribution(method, attribution_map(result.attributions), index, labels[index], result.logit,
                               result, crop, display_crop(picture))


# ---------------------------------------------------------------------------- the Attention tab's digits ViT

@dataclass(frozen=True)
class VitAttribution:
    heatmap: np.ndarray  # (H, W) float32 in [0, 1] over the model's input pixels
    label: str
    attribution: Attribution
    model_input: Image.Image  # what the model saw (as the attention overlays draw it)


def vit_integrated_gradients(image: Image.Image, model_id: str | None = None, steps: int = DEFAULT_STEPS,
                             baseline: str = "black") -> VitAttribution:
    """IG of the Attention tab's ViT for its predicted class. For the digits model "black" is the blank input
    (every pixel 0 = no ink, drawn white on screen); a Hub model's black picture goes through its processor."""
    from engine.attention.image import _digits_input, load_image_model
    from engine.core.device import pick_device

    steps, kind = check_steps(steps), check_baseline(baseline)
    image_model = load_image_model(model_id)
    model = image_model.model
    if image_model.processor is None:
        pixels, seen = _digits_input(image, model.config.image_size)
        low, high = 0.0, 1.0
        base = image_baseline(pixels, kind, low, high)
    else:
        process = lambda picture: image_model.processor(images=picture, return_tensors="pt")["pixel_values"]  # noqa: E731
        seen = image.convert("RGB")
        pixels = process(seen)
        black = process(Image.new("RGB", seen.size, (0, 0, 0)))
        low, high = float(black.min()), float(process(Image.new("RGB", seen.size, (255, 255, 255))).max())
        base = black if kind == "black" else image_baseline(pixels, kind, low, high)
    device = pick_device()
    forward = lambda batch: model(pixel_values=batch.to(device)).logits.float().cpu()  # noqa: E731
    with torch.no_grad():
        logits = forward(pixels)[0].numpy()
    top = int(np.argmax(logits))
    result = integrated_gradients(forward, pixels, base, top, steps, internal_batch_size=steps, baseline_name=kind)
    label = str(model.config.id2label.get(top, top))
    return VitAttribution(attribution_map(result.attributions), label, result, seen)


# ---------------------------------------------------------------------------- text (the Transfer tab's MiniLM)

@dataclass(frozen=True)
class TokenAttribution:
    tokens: tuple[str, ...]  # wordpieces, [CLS] and [SEP] included
    scores: np.ndarray  # (T,) float64: each token's attribution (summed over its embedding)
    target_label: str
    attribution: Attribution

    def words(self) -> list[tuple[str, float]]:
        """Whole words with the sum of their pieces' scores (IG is additive), [CLS]/[SEP]/[PAD] left out."""
        merged: list[list] = []
        for token, score in zip(self.tokens, self.scores):
            if token in ("[CLS]", "[SEP]", "[PAD]"):
                continue
            if token.startswith("##") and merged:
                merged[-1][0] += token[2:]
                merged[-1][1] += float(score)
            else:
                merged.append([token, float(score)])
        return [(word, score) for word, score in merged]


def text_attribution(model, tokenizer, text: str, target=None, steps: int = DEFAULT_STEPS,
                     internal_batch_size: int = DEFAULT_STEPS) -> TokenAttribution:
    """IG of a :class:`~engine.transfer.model.TransferClassifier` with a BERT backbone over one text's tokens.

    The baseline keeps [CLS] and [SEP] and puts [PAD] in place of every other token (same length, same attention
    mask), so only the words are credited; attributions are taken on the word embeddings.
    """
    from engine.core.validation import clean_text
    from engine.transfer.backbones import TEXT_MAX_TOKENS

    if model.config.backbone_type != "bert":
        raise ValueError("Word attributions need a MiniLM text model: load a text dataset and train.")
    if not isinstance(text, str):
        raise ValueError("Type a sentence to explain.")
    text = clean_text(text, max_chars=1000).text
    encoding = tokenizer([text], truncation=True, max_length=TEXT_MAX_TOKENS, return_tensors="pt")
    ids, mask = encoding["input_ids"], encoding["attention_mask"]
    special = torch.tensor(tokenizer.get_special_tokens_mask(ids[0].tolist(), already_has_special_tokens=True)).bool()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    baseline_ids = torch.where(special[None], ids, torch.full_like(ids, pad_id))
    model.eval()
    embed = model.backbone.get_input_embeddings()
    with torch.no_grad():
        inputs, baseline = embed(ids), embed(baseline_ids)
    forward = lambda embeds, attention: model(inputs_embeds=embeds, attention_mask=attention)  # noqa: E731
    labels = tuple(model.config.labels)
    with torch.no_grad():
        logits = forward(inputs, mask)[0].numpy()
    index = resolve_target(target, labels, logits)
    result = integrated_gradients(forward, inputs, baseline, index, steps, internal_batch_size, extra_args=(mask,),
                                  baseline_name="pad tokens")
    tokens = tuple(tokenizer.convert_ids_to_tokens(ids[0].tolist()))
    scores = result.attributions.astype(np.float64).sum(-1)
    return TokenAttribution(tokens, scores, labels[index], result)


# ---------------------------------------------------------------------------- drawing (pure: arrays in, PIL / HTML out)

TOKEN_FONT_PX = 26  # read from the back of a room


def heatmap_overlay(picture: Image.Image, heatmap: np.ndarray, side: int | None = None) -> Image.Image:
    """An IG map over the picture the model saw (inferno: dark = no credit, yellow = most), RGB PIL."""
    from engine.transfer.gradcam import overlay

    return overlay(picture, heatmap, alpha=0.6, colormap="inferno", size=side)


def _bracketed(value: float) -> str:
    """A number to subtract: "1.234", or "(−1.234)" when negative."""
    return f"{value:.3f}" if value >= 0 else f"(−{abs(value):.3f})"


def completeness_figures(attribution: Attribution, unit: str = "logit") -> list[tuple[str, str, str, str]]:
    """(label, value, note, tone) cards: the attributions' sum beside the logit difference, and their gap."""
    gap = attribution.gap
    return [
        ("Sum of attributions", f"{attribution.attribution_sum:+.3f}", f"over every input, {attribution.steps} steps", ""),
        (f"{unit}(input) − {unit}(baseline)", f"{attribution.difference:+.3f}",
         f"{attribution.logit:.3f} − {_bracketed(attribution.baseline_logit)} ({attribution.baseline} baseline)", ""),
        ("Completeness gap", f"{gap:.2%}", "|sum − difference| / |difference|: the integral's numerical error",
         "good" if gap < 0.01 else "bad" if gap > 0.05 else ""),
    ]


def token_html(words: list[tuple[str, float]], label: str, font_px: int = TOKEN_FONT_PX) -> str:
    """Words coloured by their attribution to ``label``: green raises its score, red lowers it, white ~ none.

    The colour's strength is the score over the largest |score| of the sentence; each word's value is written
    under it (14 px). Returns escaped HTML.
    """
    import html

    scale = max((abs(score) for _, score in words), default=0.0) or 1.0
    spans = []
    for word, score in words:
        strength = min(1.0, abs(score) / scale)
        colour = (22, 163, 74) if score >= 0 else (220, 38, 38)
        text_colour = "#fff" if strength > 0.6 else "inherit"
        spans.append(
            f'<span title="{score:+.4f}" style="background: rgba({colour[0]}, {colour[1]}, {colour[2]}, {strength:.2f}); '
            f'color: {text_colour}; padding: 2px 6px; margin: 2px; border-radius: 6px; display: inline-block; '
            f'text-align: center">{html.escape(word)}<br><small style="font-size: 14px">{score:+.2f}</small></span>'
        )
    legend = (f'<div style="font-size: 16px; margin-top: 6px">Green raises the score of <b>{html.escape(label)}</b>, '
              "red lowers it (strength = share of the largest); the number under each word is its attribution.</div>")
    return f'<div style="font-size: {int(font_px)}px; line-height: 1.7">{"".join(spans)}</div>{legend}'
