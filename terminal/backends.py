"""The registry of named backends shared by readers and actuators, imported only when used.

A registry maps a backend name to ``"module:Class"`` and the pip extra that provides its
library (or ``None``). :func:`load_backend` imports the module only when that backend is asked
for, so a missing optional library gives an install hint, never an ImportError at start-up
(python-can's backend table works the same way).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

#: name -> ("module:Class", pip extra that provides its library or None).
Registry = Mapping[str, tuple[str, str | None]]


def load_backend(
    registry: Registry,
    name: str,
    kind: str,
    error: Callable[[str], Exception],
) -> Any:
    """The class registered as ``name``; ``error(message)`` raised for an unknown or missing one.

    ``kind`` names the registry in messages (``reader``, ``actuator``); the caller types the
    class it gets (its base is abstract, so it cannot be a ``type[T]`` argument).
    """
    try:
        target, extra = registry[name]
    except KeyError:
        known = ", ".join(sorted(registry))
        raise error(f"unknown {kind} backend {name!r} (known: {known})") from None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = f"; install it with: pip install 'tap-stack[{extra}]'" if extra else ""
        raise error(f"{kind} backend {name!r} needs {exc.name}{hint}") from None
    return getattr(module, class_name)
