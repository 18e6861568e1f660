"""Transfer-learning choices the UI needs at build time, kept free of torch so the app starts fast."""

from __future__ import annotations

STRATEGIES = ("feature_extraction", "logistic_regression", "fine_tune_last_n", "full_fine_tune", "from_scratch")
STRATEGY_LABELS = {
    "feature_extraction": "Feature extraction (frozen backbone + linear head)",
    "logistic_regression": "Logistic regression on frozen features (scikit-learn)",
    "fine_tune_last_n": "Fine-tune the last N blocks",
    "full_fine_tune": "Full fine-tune",
    "from_scratch": "From scratch (same architecture, random init)",
}
# The model id of "the MiniLM this browser session fine-tuned in the Transfer tab", as the Attention tab's
# Text view reads it: "fine-tuned:<strategy>" picks one strategy, plain "fine-tuned" the session's best.
FINETUNED = "fine-tuned"
# Strategies fitted on the cached frozen features by engine.transfer.linear (full batch, to convergence,
# regularisation chosen by inner cross-validation on the training split): no learning rate or batches.
LINEAR_STRATEGIES = ("feature_extraction", "logistic_regression")
# Pre-trained weights need small steps; the head and random init tolerate larger ones. The linear strategies'
# entries are used only where they train by mini-batches (scripts.finetune's feature extraction).
DEFAULT_LEARNING_RATES = {
    "feature_extraction": 1e-2,
    "logistic_regression": 1e-2,
    "fine_tune_last_n": 1e-3,
    "full_fine_tune": 3e-4,
    "from_scratch": 1e-3,
}

DEFAULT_TEXT_BACKBONE = "minilm"
DEFAULT_IMAGE_BACKBONE = "efficientnet-lite0"  # ImageNet-1k pre-training; "neurodeck-cnn" is the second embedded one
SECOND_IMAGE_BACKBONE = "neurodeck-cnn"
HUB_IMAGE_IDS = ("google/vit-base-patch16-224-in21k", "facebook/dinov2-small", "microsoft/resnet-18")


def image_backbone_choices() -> list[str]:
    """The two embedded backbones first (the default leads), then the Hub ids offered when online."""
    return [DEFAULT_IMAGE_BACKBONE, SECOND_IMAGE_BACKBONE, *HUB_IMAGE_IDS]


# EfficientNet-Lite0 layers Grad-CAM can read (engine.transfer.efficientnet.LAYERS), with their grid at 224x224.
IMAGENET_LAYERS = ("stem", "stage 1", "stage 2", "stage 3", "stage 4", "stage 5", "stage 6", "stage 7", "head")
IMAGENET_LAYER_GRIDS = {"stem": 112, "stage 1": 112, "stage 2": 56, "stage 3": 28, "stage 4": 14, "stage 5": 14,
                        "stage 6": 7, "stage 7": 7, "head": 7}

# Integrated gradients (engine.transfer.attribution): its settings and caveat, torch-free for the UI.
ATTRIBUTION_STEPS = 64  # default; the completeness gap measured per step count is in docs/attribution.md
ATTRIBUTION_MIN_STEPS, ATTRIBUTION_MAX_STEPS = 2, 256
ATTRIBUTION_METHODS = ("integrated_gradients", "gradcam")
ATTRIBUTION_BASELINES = ("black", "blurred", "noise")
ATTRIBUTION_CAVEAT = (
    "Attributions depend on the baseline they start from (another baseline gives another map) and show what the "
    "gradient path credits; they are not proof of how the network reasons."
)
