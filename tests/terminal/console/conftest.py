"""The real acquirer and card of the daemon tests, for the console's tmux day."""

from tests.terminal.daemon.conftest import acquirer, acquirer_home, card, registered_rig, rig

__all__ = ["acquirer", "acquirer_home", "card", "registered_rig", "rig"]
