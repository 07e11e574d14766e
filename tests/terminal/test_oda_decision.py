"""The ODA decision: a card whose certificates do not verify is declined on both paths.

Forged (a bit flipped in the issuer or the ICC certificate, or static data changed after
certification), expired (issuer or ICC certificate) and unknown-CA cards, on the Visa-style
path (C-3) and the Mastercard-style path (C-2):

* C-3: fDDA fails, "DDA failed" is set; the card's CTQ asks neither "online if ODA fails"
  nor "switch interface", so the reader declines (Book C-3 5.8).
* C-2: the ICC key cannot be recovered before GENERATE AC, "CDA failed" is set, CDA is not
  requested and terminal action analysis decides the cryptogram (Book 2 6.6, Book 4
  6.3.2.1). The shipped TAC-Denial holds "CDA failed" (:mod:`terminal.kernel.config`), so
  the terminal asks for an AAC (P1 '00', no CDA) and declines; nothing goes online.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from card_emulation import EmvApplet, Fault
from emvcore.apdu import CryptogramType
from emvcore.keyfile import IssuerKeySet
from terminal.kernel import Kernel, KernelConfig, KernelResult, Outcome, Transaction
from terminal.kernel import config as config_module
from terminal.kernel.tvr import tvr_names
from terminal.settings import kernel_config, load_settings
from tests.card_emulation.support import make_card
from tests.terminal.support import RecordingReader

GENERATE_AC = 0xAE

#: Each certificate fault and the ODA failure the terminal names for it.
FAULTS: dict[Fault, str] = {
    Fault.TAMPER_ISSUER_CERTIFICATE: "issuer_cert_format",  # forged issuer certificate
    Fault.TAMPER_ICC_CERTIFICATE: "icc_cert_format",  # forged ICC certificate
    Fault.TAMPER_STATIC_DATA: "icc_cert_hash",  # records changed after certification
    Fault.EXPIRED_ISSUER_CERTIFICATE: "issuer_cert_expired",
    Fault.EXPIRED_ICC_CERTIFICATE: "icc_cert_expired",
    Fault.UNKNOWN_CA_INDEX: "ca_key_missing",  # 8F names a CA key the terminal lacks
}
#: Per profile: the kernel, the failure's reason prefix, and the full TVR (the floor limit
#: is 0, so every C-2 purchase is also "floor limit exceeded"; C-3 leaves that to the TTQ).
PATHS = {
    "visa": ("fdda_failed", ["DDA_FAILED"]),
    "mastercard": ("cda_failed", ["CDA_FAILED", "FLOOR_LIMIT_EXCEEDED"]),
}


def tap(
    keys: IssuerKeySet, profile: str, fault: Fault, transaction: Transaction, config: KernelConfig
) -> tuple[RecordingReader, KernelResult]:
    reader = RecordingReader(EmvApplet(make_card(keys, profile, faults=frozenset({fault}))))
    return reader, Kernel(config).run(reader, transaction)


def _generate_ac_p1(reader: RecordingReader) -> list[int]:
    return [command[2] for command, _ in reader.log if command[1] == GENERATE_AC]


@pytest.mark.parametrize("fault", list(FAULTS), ids=[f.value for f in FAULTS])
@pytest.mark.parametrize("profile", sorted(PATHS))
def test_a_card_failing_oda_is_declined_with_the_failed_bit(
    keys: IssuerKeySet, transaction: Transaction, profile: str, fault: Fault
) -> None:
    reader, result = tap(keys, profile, fault, transaction, KernelConfig())
    prefix, tvr = PATHS[profile]
    assert result.outcome is Outcome.DECLINED
    assert result.reason == f"{prefix}:{FAULTS[fault]}"
    assert tvr_names(result.tvr) == tvr
    assert result.data_record == b""
    if profile == "mastercard":
        # Book 4 6.3.2.1: the cryptogram type TAA decided (AAC), and no CDA signature asked.
        assert _generate_ac_p1(reader) == [CryptogramType.AAC]
    else:
        assert _generate_ac_p1(reader) == []  # qVSDC: the ARQC came with GPO, and is dropped


@pytest.mark.parametrize("fault", list(FAULTS), ids=[f.value for f in FAULTS])
def test_with_an_empty_tac_denial_c2_goes_online_without_cda(
    keys: IssuerKeySet, transaction: Transaction, fault: Fault
) -> None:
    """The decision is the TAC's: an acquirer whose TAC-Denial is 00 sends the card online.

    Book 2 6.6 holds either way: the failure is in the TVR for the issuer, and the ARQC is
    asked for without CDA (no further CDA processing once it failed).
    """
    config = KernelConfig(tac_denial=bytes(5))
    reader, result = tap(keys, "mastercard", fault, transaction, config)
    assert (result.outcome, result.reason) == (Outcome.ONLINE_REQUEST, "online_request")
    assert tvr_names(result.tvr) == ["CDA_FAILED", "FLOOR_LIMIT_EXCEEDED"]
    assert _generate_ac_p1(reader) == [CryptogramType.ARQC]


def test_an_acquirer_profile_with_tac_denial_00_in_the_settings_file_goes_online(
    keys: IssuerKeySet, transaction: Transaction, tmp_path: Path
) -> None:
    """The acquirer's choice, written in the terminal's settings file, reaches the kernel."""
    path = tmp_path / "terminal.toml"
    path.write_text('[kernel]\ntac_denial = "0000000000"\n')
    config = kernel_config(load_settings(path))
    assert config.tac_denial == bytes(5)
    reader, result = tap(keys, "mastercard", Fault.UNKNOWN_CA_INDEX, transaction, config)
    assert (result.outcome, result.reason) == (Outcome.ONLINE_REQUEST, "online_request")
    assert "CDA_FAILED" in tvr_names(result.tvr)
    assert _generate_ac_p1(reader) == [CryptogramType.ARQC]


def test_a_bad_cda_signature_declines_whatever_the_tacs(
    keys: IssuerKeySet, transaction: Transaction
) -> None:
    """A failure found on the GENERATE AC response declines (Book 2 6.6.2, Book 4 6.3.2.1)."""
    config = KernelConfig(tac_denial=bytes(5))
    reader, result = tap(keys, "mastercard", Fault.TAMPER_SIGNATURE, transaction, config)
    assert (result.outcome, result.reason) == (Outcome.DECLINED, "cda_failed:sdad_format")
    assert tvr_names(result.tvr) == ["CDA_FAILED", "FLOOR_LIMIT_EXCEEDED"]
    assert _generate_ac_p1(reader) == [CryptogramType.ARQC | 0x10]  # CDA was requested


@pytest.mark.parametrize("profile", sorted(PATHS))
def test_a_genuine_card_still_goes_online(
    keys: IssuerKeySet, transaction: Transaction, profile: str
) -> None:
    reader = RecordingReader(EmvApplet(make_card(keys, profile)))
    result = Kernel().run(reader, transaction)
    assert result.outcome is Outcome.ONLINE_REQUEST
    assert result.oda_performed
    assert "CDA_FAILED" not in tvr_names(result.tvr) and "DDA_FAILED" not in tvr_names(result.tvr)


def test_the_tac_table_in_the_docstring_is_the_shipped_defaults() -> None:
    doc = config_module.__doc__ or ""
    shipped = KernelConfig()
    for name, value in (
        ("TAC-Denial", shipped.tac_denial),
        ("TAC-Online", shipped.tac_online),
        ("TAC-Default", shipped.tac_default),
    ):
        found = re.search(rf"^{name}\s+``([0-9A-F]{{10}})``", doc, re.MULTILINE)
        assert found is not None, name
        assert bytes.fromhex(found.group(1)) == value, name
