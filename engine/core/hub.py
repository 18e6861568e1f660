"""Loading by Hugging Face Hub id, with offline failures turned into clear errors.

A "model id" is either a Hub repo id (``owner/name``) or a local folder written by
``save_pretrained``. Only safetensors weights are accepted.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path
from typing import Callable, TypeVar

from engine.core import settings
from engine.core.settings import LIMITS

T = TypeVar("T")

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]{0,95}(/[\w.\-]{1,96})?$")


def is_offline() -> bool:
    return settings.get().hub_offline


def local_models_allowed() -> bool:
    """Folders on the server are refused as model ids unless explicitly allowed: on a shared
    Space, a typed path must not reach the server's file system."""
    return settings.get().allow_local_models


def check_model_id(model_id: str) -> str:
    """Return a cleaned model id, or raise ``ValueError`` if it cannot be one."""
    cleaned = (model_id or "").strip()
    if not cleaned:
        raise ValueError("The model id is empty: type a Hub id such as 'bert-base-uncased', or pick the default.")
    limit = LIMITS.model_id_chars
    if len(cleaned) > limit:  # checked before anything else looks at it (the filesystem included)
        raise ValueError(f"The model id is {len(cleaned):,} characters long; Hub ids are at most {limit}.")
    # The filesystem is consulted only when server folders are allowed, so the answer never tells
    # a stranger whether a path exists on the server.
    if local_models_allowed() and Path(cleaned).is_dir():
        return cleaned
    if not _REPO_ID.match(cleaned) or ".." in cleaned:
        shown = cleaned if len(cleaned) <= 60 else cleaned[:57] + "..."
        raise ValueError(
            f"{shown!r} is not a valid Hugging Face model id (expected 'owner/name' or 'name'). "
            f"Folders on the server are not accepted unless NeuroDeck runs with {settings.LOCAL_MODELS_ENV}=1."
        )
    return cleaned


HUB_HOST = ("huggingface.co", 443)
PROBE_TIMEOUT_S = 2.0  # a connection that takes longer than this counts as "no network"
PROBE_TTL_S = 60.0  # the answer is reused this long, so every Hub id fails fast while offline
_probe = {"at": -1e9, "reachable": True}
_probe_lock = threading.Lock()


def hub_reachable() -> bool:
    """Whether the Hub answers a TCP connection within ``PROBE_TIMEOUT_S`` (checked at most once a minute).

    Without it, each Hub id on a machine with no network waited 23-48 s for the download client's own
    retries before failing; with it, only the first id in a minute pays up to 2 s.
    """
    with _probe_lock:
        now = time.monotonic()
        if now - _probe["at"] > PROBE_TTL_S:
            try:
                socket.create_connection(HUB_HOST, timeout=PROBE_TIMEOUT_S).close()
                _probe["reachable"] = True
            except OSError:
                _probe["reachable"] = False
            _probe["at"] = time.monotonic()
        return bool(_probe["reachable"])


def check_download_size(model_id: str) -> None:
    """Refuse a Hub model whose safetensors weights pass ``LIMITS.hub_download_bytes``, before downloading.

    On a public Space anyone can type any id; the file sizes come from the Hub's metadata in one small
    request, so a 10 GB checkpoint is refused in about a second instead of filling the disk.
    """
    from huggingface_hub import HfApi

    try:
        info = HfApi().model_info(model_id, files_metadata=True, timeout=10)
    except Exception as error:  # noqa: BLE001  (not found, gated, network: all mean "cannot use it")
        raise ValueError(
            f"Could not find {model_id!r} on the Hugging Face Hub ({type(error).__name__}). Check the id, or use the "
            "embedded default model."
        ) from error
    total = sum(int(getattr(f, "size", 0) or 0) for f in (info.siblings or []) if f.rfilename.endswith(".safetensors"))
    if total > LIMITS.hub_download_bytes:
        raise ValueError(
            f"{model_id!r} has {total / 2**30:.1f} GB of safetensors weights; this server downloads at most "
            f"{LIMITS.hub_download_bytes / 2**30:.0f} GB per model. Pick a smaller model."
        )


def load_pretrained(loader: Callable[..., T], model_id: str, *, has_weights: bool = True, **kwargs) -> T:
    """Call ``loader(model_id, use_safetensors=True, **kwargs)``; failures become ``ValueError``.

    ``loader`` is a ``from_pretrained``-style callable. Network and missing-repo
    errors are reported as "could not load ... (offline?)" rather than a stack trace.
    Pass ``has_weights=False`` for tokenizers and processors (no safetensors flag).
    """
    model_id = check_model_id(model_id)
    local = local_models_allowed() and Path(model_id).is_dir()
    if not local and not is_offline() and not hub_reachable():
        raise ValueError(
            f"Could not load {model_id!r} from the Hugging Face Hub: this server is offline (no network right now). "
            "Use the embedded default model, or run NeuroDeck online (e.g. on a Space) to use Hub ids."
        )
    if has_weights:
        kwargs["use_safetensors"] = True
        if not local and not is_offline():
            check_download_size(model_id)
    try:
        return loader(model_id, **kwargs)
    except Exception as error:  # noqa: BLE001  (hub, http, config and weight errors all mean "cannot load")
        if local:
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
