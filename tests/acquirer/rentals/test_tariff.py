"""The fare function: examples from the tariff rules, and properties over any tariff and ride."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from acquirer.rentals.tariff import DAY_MINUTES, Tariff, fare, started_minutes

CITY = Tariff(
    "EUR",
    deposit=5000,
    unlock_fee=100,
    per_started_minute=20,
    free_minutes=30,
    daily_cap=1500,
    max_duration_minutes=3 * DAY_MINUTES,
    lost_bike_charge=50000,
)

tariffs = st.builds(
    Tariff,
    currency=st.just("EUR"),
    deposit=st.integers(0, 10_000),
    unlock_fee=st.integers(0, 500),
    per_started_minute=st.integers(0, 100),
    free_minutes=st.integers(0, 120),
    daily_cap=st.none() | st.integers(0, 5_000),
    max_duration_minutes=st.integers(1, 5 * DAY_MINUTES),
    lost_bike_charge=st.integers(0, 100_000),
)
seconds = st.integers(0, 6 * DAY_MINUTES * 60)


def test_examples() -> None:
    assert fare(CITY, 0).amount == 100  # unlock fee only
    assert fare(CITY, 30 * 60).amount == 100  # free minutes
    assert fare(CITY, 30 * 60 + 1).amount == 120  # the 31st minute has begun
    assert fare(CITY, 3600).amount == 100 + 30 * 20
    assert fare(CITY, 2 * 3600).amount == 1500  # 100 + 90 x 20 = 1900, over the daily cap
    assert fare(CITY, 24 * 3600).amount == 1500  # one day, capped
    assert fare(CITY, 24 * 3600 + 1).amount == 1500 + 20  # day 2 started: one minute
    assert fare(CITY, 3 * DAY_MINUTES * 60).amount == 4500  # three capped days, not lost
    lost = fare(CITY, 3 * DAY_MINUTES * 60 + 1)
    assert (lost.amount, lost.lost, lost.minutes) == (50000, True, 3 * DAY_MINUTES + 1)


@given(tariffs, seconds)
def test_past_the_max_duration_the_lost_charge_replaces_the_fare(t: Tariff, s: int) -> None:
    result = fare(t, s)
    assert result.lost == (started_minutes(s) > t.max_duration_minutes)
    if result.lost:
        assert result.amount == t.lost_bike_charge


@given(tariffs, seconds, seconds)
def test_longer_rides_never_cost_less_until_lost(t: Tariff, a: int, b: int) -> None:
    short, long = sorted((a, b))
    if not fare(t, long).lost:
        assert fare(t, short).amount <= fare(t, long).amount


@given(tariffs, seconds)
def test_each_started_day_costs_at_most_the_cap(t: Tariff, s: int) -> None:
    result = fare(t, s)
    if t.daily_cap is not None and not result.lost:
        days = max(1, -(-result.minutes // DAY_MINUTES))
        assert result.amount <= days * t.daily_cap


@given(tariffs, seconds)
def test_uncapped_fare_is_unlock_fee_plus_billable_minutes(t: Tariff, s: int) -> None:
    t = dataclasses.replace(t, daily_cap=None)
    result = fare(t, s)
    if not result.lost:
        billable = max(0, result.minutes - t.free_minutes)
        assert result.amount == t.unlock_fee + billable * t.per_started_minute


@given(tariffs, st.integers(0, 120 * 60))
def test_rides_within_the_free_minutes_cost_the_unlock_fee(t: Tariff, s: int) -> None:
    result = fare(t, s)
    if result.minutes <= t.free_minutes and not result.lost:
        cap = t.unlock_fee if t.daily_cap is None else min(t.unlock_fee, t.daily_cap)
        assert result.amount == cap
