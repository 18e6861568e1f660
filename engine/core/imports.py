"""One lock for first imports of engine modules that pull in diffusers / transformers.

diffusers and transformers build their namespaces lazily; two threads importing them at once (the
warm-up thread and a first request, or two first requests) can see a half-initialised module and fail
with "cannot import name 'ConfigMixin' from partially initialized module 'diffusers.configuration_utils'".
Every deferred import of an engine module goes through :func:`import_engine` (the tabs' lazy module
proxies, the app's warm-up, and engine modules that import their heavy parts on first call).
Standard library only: importing this module costs nothing.
"""

from __future__ import annotations

import importlib
import sys
import threading
from types import ModuleType

IMPORT_LOCK = threading.RLock()


def import_engine(qualified: str) -> ModuleType:
    """``importlib.import_module(qualified)``, the first time under :data:`IMPORT_LOCK`."""
    module = sys.modules.get(qualified)
    if module is not None and getattr(getattr(module, "__spec__", None), "_initializing", False) is False:
        return module
    with IMPORT_LOCK:  # while another thread imports it, sys.modules already holds it, partly initialised
        return importlib.import_module(qualified)
