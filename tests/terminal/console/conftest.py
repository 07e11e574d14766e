"""The real acquirer and card of the daemon tests, for the console's tmux day."""

from tests.terminal.daemon.conftest import acquirer, card, rig

__all__ = ["acquirer", "card", "rig"]
