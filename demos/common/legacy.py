"""TEMPORARY during the move to the tab contract: lazily imported engine modules by name. Deleted once every
view calls the engine explicitly."""

from engine.core.imports import import_engine


class _EngineModule:
    """Stands for ``engine.<name>`` and imports it on first attribute access.

    Tab modules use this for engine modules that import torch, so building the UI (and
    so the app's start-up) does not pay for torch. ``importlib`` caches the module and
    serialises concurrent first imports.
    """

    def __init__(self, name: str) -> None:
        self._qualified = f"engine.{name}"
        self._module = None

    def __getattr__(self, attribute: str):
        if self._module is None:
            # Always through the lock: while another thread is importing it, sys.modules already
            # holds the module, only partly initialised.
            self._module = import_engine(self._qualified)
        return getattr(self._module, attribute)


def engine_module(name: str) -> _EngineModule:
    """A lazily imported ``engine.<name>`` module (see :class:`_EngineModule`)."""
    return _EngineModule(name)
