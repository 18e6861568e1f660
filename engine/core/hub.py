"""Loading by Hugging Face Hub id, with offline failures turned into clear errors.

A "model id" is either a Hub repo id (``owner/name``) or a local folder written by
``save_pretrained``. Only safetensors weights are accepted.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]{0,95}(/[\w.\-]{1,96})?$")


def is_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes"}


LOCAL_MODELS_ENV = "NEURODECK_ALLOW_LOCAL_MODELS"  # "1" lets model ids be server-side folders (tests, local use)


def local_models_allowed() -> bool:
    """Folders on the server are refused as model ids unless explicitly allowed: on a shared
    Space, a typed path must not reach the server's file system."""
    return os.environ.get(LOCAL_MODELS_ENV, "0") == "1"


def check_model_id(model_id: str) -> str:
    """Return a cleaned model id, or raise ``ValueError`` if it cannot be one."""
    cleaned = (model_id or "").strip()
    if not cleaned:
        raise ValueError("The model id is empty: type a Hub id such as 'bert-base-uncased', or pick the default.")
    if Path(cleaned).exists():
        if local_models_allowed() and Path(cleaned).is_dir():
            return cleaned
        raise ValueError(
            f"{cleaned!r} is a path on the server; loading models from server folders is turned off. "
            f"Use a Hugging Face Hub id, or run NeuroDeck yourself with {LOCAL_MODELS_ENV}=1."
        )
    if not _REPO_ID.match(cleaned) or ".." in cleaned:
        raise ValueError(
            f"{cleaned!r} is not a valid Hugging Face model id (expected 'owner/name' or 'name')."
        )
    return cleaned


def load_pretrained(loader: Callable[..., T], model_id: str, *, has_weights: bool = True, **kwargs) -> T:
    """Call ``loader(model_id, use_safetensors=True, **kwargs)``; failures become ``ValueError``.

    ``loader`` is a ``from_pretrained``-style callable. Network and missing-repo
    errors are reported as "could not load ... (offline?)" rather than a stack trace.
    Pass ``has_weights=False`` for tokenizers and processors (no safetensors flag).
    """
    model_id = check_model_id(model_id)
    if has_weights:
        kwargs["use_safetensors"] = True
    try:
        return loader(model_id, **kwargs)
    except Exception as error:  # noqa: BLE001  (hub, http, config and weight errors all mean "cannot load")
        if Path(model_id).is_dir():
            raise ValueError(
                f"Could not load the local model folder {model_id!r}: {error}. "
                "It must hold a config.json and model.safetensors written by save_pretrained."
            ) from error
        hint = (
            "This app is running offline (HF_HUB_OFFLINE=1)"
            if is_offline()
            else "The Hugging Face Hub could not be reached or has no such model with safetensors weights"
        )
        raise ValueError(
            f"Could not load {model_id!r} from the Hugging Face Hub. {hint}. "
            "Use the embedded default model, or run NeuroDeck online (e.g. on a Space) to use Hub ids."
        ) from error
