"""A bike operator's tariff and the fare of one ride: a pure function, no I/O.

The open-loop transit schemes set the frame this follows. A contactless card or phone is the
ticket; the reader identifies the account by its PAR (EMV tag 9F24) at the tap-on and the
tap-off, and the fare is known only at the end:

- **Tap-on / tap-off** (Mastercard "Transit Transactions" guide, Visa "Transit Acceptance
  Guide", both for open-loop "pay as you go" fares): the first tap starts a journey, the
  second ends it; the fare is priced from the pair, here from the rental's start and end.
- **Deferred authorization and aggregation**: the terminal may let the rider through before
  (or without) an online answer (an *offline* unlock); the acquirer verifies the ARQC later
  and completes the pre-authorization with the aggregated amount, capped by day as the
  schemes' fare capping does.
- **Debt recovery**: what the first authorization cannot cover (a decline after an offline
  unlock, a fare above the hold whose incremental authorization is refused) becomes a debt;
  the account goes on a deny list until the debt is paid with a new tap, which the schemes'
  "debt recovery" authorizations allow for a denied account.

Fare rules (all amounts integers in minor units of ``currency``):

1. A ride of ``d`` seconds has ``ceil(d / 60)`` *started minutes*; minute ``j`` (0-based)
   belongs to day ``j // 1440`` of the ride, and a ride has ``max(1, ceil(minutes / 1440))``
   started 24-hour days.
2. The first ``free_minutes`` minutes of the ride cost nothing; every other started minute
   costs ``per_started_minute``.
3. Day 0 costs ``unlock_fee`` plus its minutes; later days cost their minutes. With a
   ``daily_cap``, each day costs at most the cap (``None``: no cap).
4. A ride longer than ``max_duration_minutes`` is priced as a lost bike: the fare is
   ``lost_bike_charge`` alone (it replaces rules 1-3).

>>> t = Tariff("EUR", deposit=5000, unlock_fee=100, per_started_minute=20, free_minutes=30,
...            daily_cap=1500, max_duration_minutes=4320, lost_bike_charge=50000)
>>> fare(t, 0), fare(t, 30 * 60), fare(t, 30 * 60 + 1), fare(t, 3600)
(Fare(amount=100, minutes=0, lost=False), Fare(amount=100, minutes=30, lost=False), \
Fare(amount=120, minutes=31, lost=False), Fare(amount=700, minutes=60, lost=False))
>>> fare(t, 25 * 3600).amount   # day 0 capped at 1500, day 1: 60 minutes
2700
>>> fare(t, 4320 * 60 + 1)
Fare(amount=50000, minutes=4321, lost=True)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

#: Minutes in one started day of a ride.
DAY_MINUTES = 24 * 60


@dataclass(frozen=True, slots=True)
class Tariff:
    """What an operator (a merchant) charges for a ride; amounts in minor units."""

    currency: str
    deposit: int
    """The pre-authorization hold taken at the unlock."""
    unlock_fee: int
    per_started_minute: int
    free_minutes: int
    daily_cap: int | None
    """Most charged per started 24 hours of a ride (``None``: no cap)."""
    max_duration_minutes: int
    lost_bike_charge: int

    def to_json(self) -> str:
        """Compact JSON, keys sorted (stored with each rental as the tariff it started under)."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Tariff:
        """The tariff :meth:`to_json` wrote."""
        return cls(**json.loads(text))


@dataclass(frozen=True, slots=True)
class Fare:
    """A ride's price, its started minutes, and whether it was priced as a lost bike."""

    amount: int
    minutes: int
    lost: bool


def started_minutes(seconds: int) -> int:
    """Minutes begun in ``seconds`` (a ride of 0 seconds begins none).

    >>> started_minutes(0), started_minutes(1), started_minutes(60), started_minutes(61)
    (0, 1, 1, 2)
    """
    return -(-max(0, seconds) // 60)


def fare(tariff: Tariff, seconds: int) -> Fare:
    """The fare of a ride of ``seconds`` under ``tariff`` (rules in the module docstring)."""
    minutes = started_minutes(seconds)
    if minutes > tariff.max_duration_minutes:
        return Fare(tariff.lost_bike_charge, minutes, lost=True)
    days = max(1, -(-minutes // DAY_MINUTES))
    total = 0
    for day in range(days):
        first, end = day * DAY_MINUTES, min(minutes, (day + 1) * DAY_MINUTES)
        billable = max(0, end - max(first, tariff.free_minutes))
        charge = billable * tariff.per_started_minute + (tariff.unlock_fee if day == 0 else 0)
        if tariff.daily_cap is not None:
            charge = min(charge, tariff.daily_cap)
        total += charge
    return Fare(total, minutes, lost=False)
