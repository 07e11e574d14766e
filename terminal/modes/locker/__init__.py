"""The locker mode: a parcel locker terminal (:mod:`.locker`)."""

from terminal.modes.locker.locker import Door, Locker, PickupResult

__all__ = ["Door", "Locker", "PickupResult"]
