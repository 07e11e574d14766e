"""The vpcd wire, with this test playing the driver: length-prefixed messages both ways,
control bytes, and the driver's habit of writing length and payload separately."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import pytest

from card_emulation.transports import TransportError
from card_emulation.transports.vpcd import (
    GET_ATR,
    POWER_OFF,
    POWER_ON,
    RESET,
    VpcdCard,
    contactless_atr,
)
from tests.readers.stacks import Recorder


class Driver:
    """The vpcd driver's side of one connection."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn

    def send(self, payload: bytes, *, split: bool = True) -> None:
        header = struct.pack(">H", len(payload))
        if split:  # as Debian's driver does: two writes
            self.conn.sendall(header)
            self.conn.sendall(payload)
        else:
            self.conn.sendall(header + payload)

    def receive(self) -> bytes:
        (length,) = struct.unpack(">H", self._exactly(2))
        return self._exactly(length)

    def _exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.conn.recv(size - len(data))
            assert chunk, "the card closed the connection"
            data += chunk
        return data


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)
    yield server
    server.close()


def connect(listener: socket.socket, card: Recorder) -> tuple[VpcdCard, Driver]:
    vpcd = VpcdCard(card, port=listener.getsockname()[1], atr=contactless_atr(b"Tap"))
    vpcd.start()
    conn, _ = listener.accept()
    conn.settimeout(5)
    return vpcd, Driver(conn)


def test_control_bytes_and_apdus(listener: socket.socket) -> None:
    card = Recorder(b"\x6f\x00\x90\x00")
    vpcd, driver = connect(listener, card)
    try:
        driver.send(bytes([GET_ATR]))
        assert driver.receive() == contactless_atr(b"Tap")
        driver.send(bytes([POWER_ON]))
        driver.send(bytes([RESET]))
        driver.send(bytes([POWER_OFF]))  # none of these is answered ...
        driver.send(bytes.fromhex("00A4040000"), split=False)
        assert driver.receive() == b"\x6f\x00\x90\x00"  # ... so this is the next message
        assert card.resets == 2 and card.commands == [bytes.fromhex("00A4040000")]
        assert vpcd.apdus == 1 and vpcd.present
    finally:
        vpcd.remove()


def test_a_long_apdu_split_over_two_writes(listener: socket.socket) -> None:
    card = Recorder(bytes(300) + b"\x90\x00")
    vpcd, driver = connect(listener, card)
    try:
        command = bytes.fromhex("80CA9F36") + b"\x00\x01\x2c"
        driver.send(command)
        assert driver.receive() == bytes(300) + b"\x90\x00"
        assert card.commands == [command]
    finally:
        vpcd.remove()


def test_removal_closes_the_connection(listener: socket.socket) -> None:
    vpcd, driver = connect(listener, Recorder())
    vpcd.remove()
    assert driver.conn.recv(1) == b""
    assert not vpcd.present


def test_the_driver_going_away_ends_serving(listener: socket.socket) -> None:
    vpcd, driver = connect(listener, Recorder())
    driver.conn.close()
    assert vpcd._thread is not None
    vpcd._thread.join(5)
    assert not vpcd.present


def test_nobody_listening() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(
        TransportError, match=rf"cannot reach vpcd on 127.0.0.1:{port} .*is pcscd running"
    ):
        VpcdCard(Recorder(), port=port).insert()
