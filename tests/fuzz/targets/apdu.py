"""Fuzz target: command and response APDUs (emvcore.apdu, ISO/IEC 7816-4 section 5.1).

The first byte picks what the rest is fed to. Properties:

- :meth:`~emvcore.apdu.CommandApdu.decode` raises nothing but
  :class:`~emvcore.errors.ApduError`; a decoded command encodes, and decoding that encoding
  gives the same command; a command whose input was already in the shortest form encodes
  back to the input byte for byte;
- :meth:`~emvcore.apdu.ResponseApdu.decode` splits data and status word so that encoding
  gives the input back; :func:`~emvcore.apdu.describe_sw` describes every status word;
- the EMV command builders (SELECT, READ RECORD, GPO, GENERATE AC, GET DATA, EXTERNAL
  AUTHENTICATE, GET RESPONSE) either refuse with ApduError or build a command that
  decodes back to itself.
"""

from __future__ import annotations

from collections.abc import Callable

from emvcore import apdu
from emvcore.errors import ApduError
from tests.fuzz.properties import check
from tests.fuzz.stream import ByteStream

MAX_LEN = 70_000  # room for an extended-length command (Lc up to 65535)


def _command(raw: bytes) -> None:
    try:
        command = apdu.CommandApdu.decode(raw)
    except ApduError:
        return
    encoded = command.encode()
    check(apdu.CommandApdu.decode(encoded) == command, "decode(encode(c)) differs from c")
    if len(encoded) <= len(raw):
        check(len(encoded) < len(raw) or encoded == raw, "shortest-form command changed")
    check(command.extended == (len(encoded) > 4 and encoded[4] == 0 and len(encoded) >= 7),
          "extended flag disagrees with the encoding")  # fmt: skip


def _response(raw: bytes) -> None:
    try:
        response = apdu.ResponseApdu.decode(raw)
    except ApduError:
        check(len(raw) < 2, "a response of two or more bytes was refused")
        return
    check(response.encode() == raw, "ResponseApdu encode(decode(x)) differs from x")
    check(response.ok == (raw[-2:] == b"\x90\x00"), "ok disagrees with the status word")
    text = apdu.describe_sw(response.sw)
    check(bool(text) and response.sw.to_bytes(2, "big") == raw[-2:], "status word misread")


def _builders(stream: ByteStream) -> None:
    builders: list[Callable[[], apdu.CommandApdu]] = [
        lambda: apdu.select(stream.chunk(20), next_occurrence=stream.flag()),
        lambda: apdu.read_record(stream.below(40), stream.below(300)),
        lambda: apdu.get_processing_options(stream.chunk()),
        lambda: apdu.generate_ac(stream.byte(), stream.chunk()),
        lambda: apdu.get_data(stream.below(0x10000)),
        lambda: apdu.external_authenticate(stream.chunk(24)),
        lambda: apdu.get_response(stream.below(300)),
    ]
    while not stream.exhausted:
        build = builders[stream.below(len(builders))]
        try:
            command = build()
        except ApduError:
            continue
        check(apdu.CommandApdu.decode(command.encode()) == command, "built command misdecodes")


def one_input(data: bytes) -> None:
    """Feed the input to one APDU parser (chosen by its first byte); check the properties."""
    stream = ByteStream(data)
    mode = stream.below(3)
    if mode == 0:
        _command(stream.rest())
    elif mode == 1:
        _response(stream.rest())
    else:
        _builders(stream)
