"""The bike mode: a dock terminal (:mod:`.dock`) and its offline state (:mod:`.queue`)."""

from terminal.modes.bike.dock import BikeDock, RideResult

__all__ = ["BikeDock", "RideResult"]
