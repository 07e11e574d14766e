"""Tap! mode's tag through the real reader stacks, read by readers nobody here wrote.

* nfcpy's udp driver: our Type 4 Tag behind our nfcpy target transport, read by nfcpy's own
  Type 4 Tag reader (``clf.connect(rdwr=...)``, ``tag.ndef.records``), and by the wallet
  through its nfcpy adapter;
* pcscd + vpcd: the tag in a PC/SC reader, read by the wallet through its pyscard adapter,
  as any PC/SC program would.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import ndef
import nfc
import pytest

from card_emulation.tag import Type4Tag
from card_emulation.transports.nfc_target import NfcTarget
from card_emulation.transports.vpcd import VpcdCard
from card_emulation.wallet import nfcpy_transceive, pyscard_transceive, read_ndef
from emvcore.tapmode import IDLE_MESSAGE, build_link, decode_message, encode_message
from tests.readers.stacks import free_port, vpcd_slot, wait_empty

BASE = "https://pay.example/tap"
PACKAGE = "com.example.wallet"


def tap_tag() -> tuple[Type4Tag, str]:
    link = build_link(BASE, "SHOP0001", "cs_01KDVDNA00ABCDEFGHJKMN", bytes(range(32)))
    tag = Type4Tag()
    tag.present(encode_message(link.uri, PACKAGE))
    return tag, link.uri


@pytest.fixture
def udp_path() -> str:
    return f"udp:127.0.0.1:{free_port()}"


@contextlib.contextmanager
def nfcpy_connect(path: str) -> Iterator[object]:
    """nfcpy's own reader on ``path``: poll for a Type 4A tag, activate it, yield it."""
    clf = nfc.ContactlessFrontend(path)
    try:
        found = clf.connect(
            rdwr={"targets": ["106A"], "on-connect": lambda tag: False, "iterations": 20,
                  "interval": 0.1},
        )  # fmt: skip
        assert found not in (None, False), "nfcpy found no tag"
        yield found
    finally:
        clf.close()


def test_nfcpys_own_type4_reader_finds_the_uri_record(udp_path: str) -> None:
    tag, uri = tap_tag()
    with NfcTarget(tag, udp_path):
        with nfcpy_connect(udp_path) as found:
            assert found.type == "Type4Tag"  # type: ignore[attr-defined]
            ndef_data = found.ndef  # type: ignore[attr-defined]
            assert ndef_data is not None and ndef_data.is_readable
            assert not ndef_data.is_writeable
            records = ndef_data.records
    assert isinstance(records[0], ndef.UriRecord) and records[0].iri == uri
    assert records[1].type == "urn:nfc:ext:android.com:pkg" and bytes(records[1].data) == PACKAGE.encode()
    assert tag.selections == 1


def test_nfcpy_reads_an_idle_tag_as_the_empty_message(udp_path: str) -> None:
    tag = Type4Tag()
    with NfcTarget(tag, udp_path):
        with nfcpy_connect(udp_path) as found:
            records = found.ndef.records  # type: ignore[attr-defined]
    assert len(records) == 1 and records[0].type == "" and not records[0].data


def test_the_wallet_reads_the_tag_over_nfcpy(udp_path: str) -> None:
    tag, uri = tap_tag()
    with NfcTarget(tag, udp_path):
        with nfcpy_connect(udp_path) as found:
            message = decode_message(read_ndef(nfcpy_transceive(found)))
    assert message is not None and message.uri == uri and message.package == PACKAGE


def test_the_wallet_reads_the_tag_through_pcscd_and_vpcd() -> None:
    from smartcard.CardConnection import CardConnection
    from smartcard.CardRequest import CardRequest

    port, reader_name = vpcd_slot()
    tag, uri = tap_tag()
    vpcd = VpcdCard(tag, port=port)
    vpcd.start()
    try:
        service = CardRequest(timeout=5, readers=[reader_name]).waitforcard()
        connection = service.connection
        connection.connect(CardConnection.T1_protocol)
        try:
            transceive = pyscard_transceive(connection)
            first = decode_message(read_ndef(transceive))
            tag.clear()  # the transaction ended: the next read is idle
            second = read_ndef(transceive)
        finally:
            connection.disconnect()
    finally:
        vpcd.remove()
        wait_empty(reader_name)
    assert first is not None and first.uri == uri
    assert second == IDLE_MESSAGE
