"""The tag the terminal presents in Tap! mode, found through the ``tap.tags`` entry points.

The terminal never imports card_emulation (import-linter forbids it): as the ``emulated``
reader finds cards in ``tap.cards``, the tag mode finds its NFC Forum Type 4 Tag and the
card-side transports that serve it (in-process, vpcd inside pcscd, an nfcpy target) in
``tap.tags``. A provider is ``open_tag(transport) -> PresentedTag``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Protocol

from terminal.errors import SettingsError

#: The entry point group tag providers register in (``[project.entry-points."tap.tags"]``).
TAG_PROVIDERS = "tap.tags"
DEFAULT_PROVIDER = "type4"


class PresentedTag(Protocol):
    """A dynamic tag in the field: its NDEF message per tap, or idle."""

    def present(self, content: bytes | Callable[[], bytes]) -> None: ...

    def clear(self) -> None: ...

    def close(self) -> None: ...


def open_tag(transport: str, *, provider: str = DEFAULT_PROVIDER) -> PresentedTag:
    """The provider's tag, served by ``transport`` (``memory``, ``vpcd[:PORT]``, ``nfc:PATH``)."""
    found = [entry for entry in entry_points(group=TAG_PROVIDERS) if entry.name == provider]
    if not found:
        raise SettingsError(
            f"no tag provider {provider!r} in entry point group {TAG_PROVIDERS} "
            "(install the card_emulation distribution)"
        )
    opener: Callable[[str], PresentedTag] = found[0].load()
    try:
        return opener(transport)
    except LookupError as exc:
        raise SettingsError(str(exc)) from None
