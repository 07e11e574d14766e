"""The daemon with its card inside the real PC/SC stack: pcscd, vsmartcard's vpcd, pyscard.

Needs the private pcscd of ``sh scripts/services.sh run -- ...`` (skipped without it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from card_emulation import EmvApplet
from tests.readers.stacks import PcscRig
from tests.terminal.daemon.rig import Rig, daemon_rig


@pytest.fixture
def pcsc_rig(tmp_path: Path, acquirer: tuple[str, Path], card: EmvApplet) -> Iterator[Rig]:
    field = PcscRig(card_timeout=2.0)
    try:
        with daemon_rig(tmp_path / "state", acquirer[0], card, field=field) as rig:
            yield rig
    finally:
        field.close()


def test_a_payment_through_pcscd_and_vpcd(pcsc_rig: Rig) -> None:
    rig = pcsc_rig
    assert rig.api.get("/v1/health").json()["reader"]["name"].startswith("pcsc:")
    action = rig.act(kind="payment", amount=1999, reference="pcsc-1").json()
    rig.wait_state(action["id"], "waiting_for_card")
    rig.field.insert(rig.card)
    try:
        done = rig.wait_state(action["id"], "completed", "failed", "cancelled")
    finally:
        rig.field.remove()
    assert done["state"] == "completed", done
    assert (done["result"]["outcome"], done["result"]["arpc_verified"]) == ("approved", True)
    assert done["result"]["receipt"]["amount"] == 1999
    entry = rig.api.get("/v1/transactions", params={"reference": "pcsc-1"}).json()["items"][0]
    assert entry["state"] == "confirmed"
