"""The NDEF message of a Tap! tag: encoded, decoded, idle, and what a wallet refuses."""

from __future__ import annotations

import ndef
import pytest

from emvcore.errors import TapMessageError
from emvcore.tapmode import AAR_TYPE, IDLE_MESSAGE, TapMessage, decode_message, encode_message

URI = "https://pay.example/tap/v1/cs_01KDVDNA00ABCDEFGHJKMN?n=AAECAwQFBgcICQoL&t=SHOP0001&m=x"
PACKAGE = "com.example.wallet"


def octets(*records: ndef.Record) -> bytes:
    return b"".join(ndef.message_encoder(list(records)))


def test_the_message_is_a_uri_record_then_an_android_application_record() -> None:
    records = list(ndef.message_decoder(encode_message(URI, PACKAGE)))
    assert [r.type for r in records] == ["urn:nfc:wkt:U", AAR_TYPE]
    assert records[0].iri == URI
    assert bytes(records[1].data) == PACKAGE.encode()
    assert decode_message(encode_message(URI, PACKAGE)) == TapMessage(URI, PACKAGE)


def test_a_message_without_the_aar_still_names_the_link() -> None:
    assert decode_message(octets(ndef.UriRecord(URI))) == TapMessage(URI, None)


def test_idle_is_the_nfc_forum_empty_message() -> None:
    assert IDLE_MESSAGE == bytes.fromhex("D00000")
    assert decode_message(IDLE_MESSAGE) is None
    assert decode_message(b"") is None  # NLEN 0, an INITIALIZED tag


@pytest.mark.parametrize(
    "message",
    [
        octets(ndef.TextRecord("pay me")),
        octets(ndef.UriRecord(URI), ndef.UriRecord(URI)),
        octets(ndef.Record(AAR_TYPE, "", PACKAGE.encode()), ndef.UriRecord(URI)),
        octets(ndef.UriRecord(URI), ndef.Record(AAR_TYPE, "", b"not a package")),
        octets(ndef.UriRecord(URI), ndef.Record(AAR_TYPE, "", b"\xff\xfe")),
        bytes.fromhex("D101"),  # truncated
        bytes.fromhex("0000"),  # MB not set
    ],
    ids=["text", "two-uris", "aar-first", "bad-package", "non-ascii", "truncated", "no-mb"],
)
def test_anything_else_is_refused(message: bytes) -> None:
    with pytest.raises(TapMessageError) as refused:
        decode_message(message)
    assert refused.value.reason == "ndef-malformed"


def test_a_bad_package_name_is_not_written() -> None:
    with pytest.raises(TapMessageError, match="Android package"):
        encode_message(URI, "wallet")
