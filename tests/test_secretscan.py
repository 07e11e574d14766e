"""The secret scan can fail: planted PANs and keys are found, with file and offset only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emvcore.keyfile import generate_test_issuer_keys, save_issuer_keys
from tests.secretscan import Secret, SecretScanner, pans_in_sources, scan_run

PAN = "5413339000001513"
TESTS = Path(__file__).resolve().parent


def test_a_planted_pan_is_reported_with_file_and_offset_never_the_pan(tmp_path: Path) -> None:
    planted = tmp_path / "export.log"
    planted.write_bytes(b"x" * 100 + PAN.encode() + b" and BCD " + bytes.fromhex(PAN))
    try:
        findings, files, _ = scan_run([tmp_path], [PAN])
        assert files == 1
        assert [(f.path, f.offset, f.kind, f.form) for f in findings] == [
            (planted, 100, "PAN", "digits"),
            (planted, 125, "PAN", "packed BCD"),
        ]
        assert all(PAN not in str(f) for f in findings)
        assert "541333******1513" in str(findings[0])
    finally:
        planted.unlink()  # the session's own scan must not find the plant


def test_keys_of_a_key_file_are_found_elsewhere_but_the_key_file_is_not_searched(
    tmp_path: Path,
) -> None:
    keys = generate_test_issuer_keys()
    save_issuer_keys(keys, tmp_path / "data" / "issuer-keys.json")
    imk = keys.keys[0].imk_ac
    leak = tmp_path / "acquirer.db-wal"
    leak.write_bytes(bytes(4096) + imk + b"--" + imk.hex().encode())
    try:
        findings, files, secrets = scan_run([tmp_path], [])
        assert files == 1 and secrets == len(keys.keys)
        assert [(f.path, f.offset, f.kind, f.form) for f in findings] == [
            (leak, 4096, "issuer master key", "raw"),
            (leak, 4096 + len(imk) + 2, "issuer master key", "hex"),
        ]
        assert all(imk.hex() not in str(f).lower() for f in findings)
    finally:
        leak.unlink()


def test_a_secret_across_a_chunk_boundary_is_found_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tests.secretscan as scan

    monkeypatch.setattr(scan, "_CHUNK", 1000)
    path = tmp_path / "big.bin"
    path.write_bytes(bytes(990) + PAN.encode() + bytes(3000) + PAN.encode())
    try:
        offsets = [f.offset for f in SecretScanner([Secret.pan(PAN)]).scan_file(path)]
        assert offsets == [990, 990 + 16 + 3000]
    finally:
        path.unlink()


def test_the_pan_list_holds_the_funding_pans_and_no_tokens() -> None:
    pans = pans_in_sources([TESTS])
    assert {"4111111111111111", "5555555555554444", PAN} <= pans
    assert not any(p.startswith(("48953700", "53998300")) for p in pans)


def test_a_card_file_of_another_format_version_is_still_a_key_file(tmp_path: Path) -> None:
    card = tmp_path / "old-card.json"
    icc_mk = bytes(range(16))
    card.write_text(json.dumps({"format": "tap-card/0", "icc_mk": icc_mk.hex()}))
    copy = tmp_path / "copy.log"
    copy.write_bytes(icc_mk.hex().encode())
    try:
        findings, files, secrets = scan_run([tmp_path], [])
        assert (files, secrets) == (1, 1)
        assert [(f.path, f.kind) for f in findings] == [(copy, "ICC master key")]
    finally:
        card.unlink()
        copy.unlink()
