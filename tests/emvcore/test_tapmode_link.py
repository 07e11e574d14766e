"""The Tap! tag link: round trip, strict parsing, MAC verification, the acquirer's accept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emvcore.errors import (
    TapLinkForgedError,
    TapLinkFormatError,
    TapLinkReplayedError,
    TapModeError,
)
from emvcore.tapmode import (
    TapLink,
    accept_link,
    build_link,
    check_link,
    derive_terminal_link_key,
    parse_link,
    verify_link,
)

BASE = "https://pay.example/tap"
KEY = bytes(range(32))
SESSION = "cs_01KDVDNA00ABCDEFGHJKMN"


def link() -> TapLink:
    return build_link(BASE, "SHOP0001", SESSION, KEY, nonce=bytes(range(12)))


def test_a_built_link_parses_back_and_verifies() -> None:
    built = link()
    parsed = parse_link(built.uri, BASE)
    assert parsed == built
    assert verify_link(parsed, KEY)
    assert built.uri.startswith(f"{BASE}/v1/{SESSION}?n=")
    assert len(built.uri) < 120  # fits a small tag with room to spare


def test_every_tap_gets_a_fresh_nonce_and_mac() -> None:
    one = build_link(BASE, "SHOP0001", SESSION, KEY)
    two = build_link(BASE, "SHOP0001", SESSION, KEY)
    assert one.nonce != two.nonce and one.mac != two.mac and one.uri != two.uri


@given(
    terminal=st.from_regex(r"[A-Za-z0-9]{1,16}", fullmatch=True),
    session=st.from_regex(r"[A-Za-z0-9_-]{16,64}", fullmatch=True),
    nonce=st.binary(min_size=12, max_size=12),
)
def test_round_trip_for_any_ids(terminal: str, session: str, nonce: bytes) -> None:
    built = build_link(BASE, terminal, session, KEY, nonce=nonce)
    assert parse_link(built.uri, BASE) == built


GOOD = link().uri
N = GOOD.split("n=")[1].split("&")[0]
M = GOOD.split("m=")[1]


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        (GOOD.replace("/v1/", "/v2/"), "not supported"),
        (GOOD.replace("/v1/", "/V1/"), "path"),
        (GOOD.replace("https://pay.example/tap", "https://pay.example.evil/tap"), "base URL"),
        (GOOD.replace("https://", "http://"), "base URL"),
        (GOOD + "&x=1", "exactly n, t and m"),
        (GOOD + "&n=" + N, "exactly n, t and m"),
        (GOOD.replace("&t=SHOP0001", ""), "exactly n, t and m"),
        (GOOD.replace("&t=SHOP0001", "&t"), "exactly n, t and m"),
        (GOOD.split("?")[0], "no parameters"),
        (GOOD + "#x", "fragment"),
        (GOOD.replace("m=" + M, "m=" + M[:-1] + "="), "not base64url"),
        (GOOD.replace("m=" + M, "m=" + M[:-1] + "+"), "not base64url"),
        (GOOD.replace("m=" + M, "m=" + M[:-1] + "B"), "not canonical"),  # stray low bits
        (GOOD.replace("m=" + M, "m=" + M[:-2]), "bytes, not 16"),
        (GOOD.replace("n=" + N, "n=" + N + "AAAA"), "bytes, not 12"),
        (GOOD.replace("t=SHOP0001", "t=SHOP-0001"), "terminal id"),
        (GOOD.replace(SESSION, "short"), "session id"),
        (GOOD.replace(SESSION, SESSION + "/extra"), "session id"),
        (GOOD + "&" * 600, "longer than"),
    ],
)
def test_strict_parsing_refuses(uri: str, why: str) -> None:
    with pytest.raises(TapLinkFormatError, match=why) as refused:
        parse_link(uri, BASE)
    assert refused.value.reason == "link-malformed"


def test_parameters_in_another_order_are_the_same_link() -> None:
    shuffled = f"{BASE}/v1/{SESSION}?t=SHOP0001&m={M}&n={N}"
    assert parse_link(shuffled, BASE) == link()


@pytest.mark.parametrize("base", ["https://pay.example/tap/", "pay.example", "https://x/?q=1"])
def test_a_malformed_base_url_is_refused(base: str) -> None:
    with pytest.raises(TapLinkFormatError, match="base URL"):
        build_link(base, "SHOP0001", SESSION, KEY)


@pytest.mark.parametrize(
    "change",
    [
        {"terminal_id": "SHOP0002"},
        {"session_id": SESSION[:-1] + "X"},
        {"nonce": bytes(12)},
        {"mac": bytes(16)},
    ],
)
def test_the_mac_covers_terminal_session_and_nonce(change: dict[str, object]) -> None:
    from dataclasses import replace

    assert not verify_link(replace(link(), **change), KEY)  # type: ignore[arg-type]


def test_a_short_key_is_refused() -> None:
    with pytest.raises(TapLinkFormatError, match="at least 16"):
        build_link(BASE, "SHOP0001", SESSION, bytes(15))


def test_terminal_keys_differ_per_terminal_and_sign_links() -> None:
    master = bytes(32)
    k1, k2 = (derive_terminal_link_key(master, t) for t in ("SHOP0001", "SHOP0002"))
    assert len(k1) == 32 and k1 != k2
    built = build_link(BASE, "SHOP0001", SESSION, k1)
    assert verify_link(built, k1) and not verify_link(built, k2)


class Nonces:
    """The acquirer's nonce store, in memory: claim once."""

    def __init__(self) -> None:
        self.used: set[tuple[str, bytes]] = set()
        self.calls = 0

    def claim(self, link: TapLink) -> bool:
        self.calls += 1
        key = (link.terminal_id, link.nonce)
        if key in self.used:
            return False
        self.used.add(key)
        return True


def keys(terminal_id: str) -> bytes | None:
    return KEY if terminal_id == "SHOP0001" else None


def test_accept_uses_the_nonce_once() -> None:
    nonces = Nonces()
    uri = link().uri
    assert accept_link(uri, BASE, keys, nonces.claim) == link()
    with pytest.raises(TapLinkReplayedError) as replayed:
        accept_link(uri, BASE, keys, nonces.claim)
    assert replayed.value.reason == "link-replayed"
    # Checking (a session fetch) does not use a nonce up.
    fresh = build_link(BASE, "SHOP0001", SESSION, KEY)
    check_link(fresh.uri, BASE, keys)
    check_link(fresh.uri, BASE, keys)
    assert accept_link(fresh.uri, BASE, keys, nonces.claim) == fresh


def test_a_forged_link_never_burns_a_nonce() -> None:
    nonces = Nonces()
    forged = build_link(BASE, "SHOP0001", SESSION, bytes(32), nonce=bytes(range(12)))
    with pytest.raises(TapLinkForgedError) as refused:
        accept_link(forged.uri, BASE, keys, nonces.claim)
    assert refused.value.reason == "link-forged" and nonces.calls == 0
    assert accept_link(link().uri, BASE, keys, nonces.claim) == link()


def test_an_unknown_terminal_is_refused_as_a_forgery() -> None:
    other = build_link(BASE, "SHOP0009", SESSION, KEY)
    with pytest.raises(TapLinkForgedError, match="MAC does not verify"):
        check_link(other.uri, BASE, keys)


def test_every_refusal_is_a_tap_mode_error_with_a_stable_reason() -> None:
    reasons = {cls.reason for cls in TapModeError.__subclasses__()}
    assert reasons == {"link-malformed", "link-forged", "link-replayed", "ndef-malformed"}
