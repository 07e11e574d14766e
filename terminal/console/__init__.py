"""The shopkeeper's console (``tap-terminal console``): a textual client of the daemon's API.

- :mod:`.client`  the daemon's local API over httpx, its event stream (SSE, Last-Event-ID)
- :mod:`.amount`  the amount field: the shop's decimal separator, strict, the contactless limit
- :mod:`.view`    what is shown (customer view, status line, rows, totals), pure functions
- :mod:`.app`     the textual app and its key bindings
- :mod:`.cli`     the ``console`` command

The console talks to the daemon only through its API; it never opens the reader, the journal
or the outbox itself.
"""

from terminal.console.client import DaemonClient, SseEvent

__all__ = ["DaemonClient", "SseEvent"]
