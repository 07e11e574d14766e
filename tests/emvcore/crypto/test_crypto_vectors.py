"""Published test vectors (tests/vectors/emv_issuer_crypto.json), checked step by step.

Every chain asserts the intermediate keys by their key check values (issuer master key,
ICC master key, AC key) before the cryptogram and the ARPC, so a failure names the
step that broke.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from emvcore.crypto import (
    Padding,
    arpc_method_1,
    arpc_method_2,
    cryptogram_version,
    derive_common_sk,
    derive_icc_mk_a,
    derive_icc_mk_b,
    derive_mastercard_sk,
    generate_ac,
    kcv,
    mac_iso9797_alg3,
    verify_ac,
)

pytestmark = pytest.mark.filterwarnings("error")

VECTORS: Mapping[str, Any] = json.loads(
    (Path(__file__).parents[2] / "vectors" / "emv_issuer_crypto.json").read_text()
)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def check_kcv(key: bytes, expected: str) -> None:
    assert kcv(key, len(expected) // 2).hex().upper() == expected


def ids(section: str) -> list[str]:
    return [vector["source"].split(" ", 2)[-1][:60] for vector in VECTORS[section]]


def derive(vector: Mapping[str, Any]) -> bytes:
    derive_mk = derive_icc_mk_a if vector["option"] == "A" else derive_icc_mk_b
    return derive_mk(h(vector["imk"]), vector["pan"], vector["psn"])


def test_every_vector_names_its_source() -> None:
    for section in ("mac", "master_keys", "chains", "cryptogram_versions"):
        assert VECTORS[section]
        for vector in VECTORS[section]:
            assert vector["source"].strip()


@pytest.mark.parametrize("vector", VECTORS["mac"], ids=ids("mac"))
def test_mac_algorithm_3(vector: Mapping[str, Any]) -> None:
    mac = mac_iso9797_alg3(
        h(vector["key"]), vector["data_ascii"].encode("ascii"), Padding(vector["padding"])
    )
    assert mac.hex().upper() == vector["mac"]


@pytest.mark.parametrize("vector", VECTORS["master_keys"], ids=ids("master_keys"))
def test_icc_master_key(vector: Mapping[str, Any]) -> None:
    check_kcv(h(vector["imk"]), vector["imk_kcv"])
    icc_mk = derive(vector)
    if "icc_mk" in vector:
        assert icc_mk.hex().upper() == vector["icc_mk"]
    else:
        check_kcv(icc_mk, vector["icc_mk_kcv"])


@pytest.mark.parametrize("vector", VECTORS["chains"], ids=ids("chains"))
def test_chain(vector: Mapping[str, Any]) -> None:
    check_kcv(h(vector["imk"]), vector["imk_kcv"])
    icc_mk = derive(vector)
    check_kcv(icc_mk, vector["icc_mk_kcv"])

    method = vector["session_key"]
    if method == "emv-common":
        ac_key = derive_common_sk(icc_mk, h(vector["atc"]))
    elif method == "mastercard":
        ac_key = derive_mastercard_sk(icc_mk, h(vector["atc"]), h(vector["un"]))
    else:
        ac_key = icc_mk
    check_kcv(ac_key, vector["sk_kcv"])

    padding = Padding(vector["padding"])
    ac = generate_ac(ac_key, h(vector["ac_data"]), padding)
    assert ac.hex().upper() == vector["ac"]
    assert verify_ac(ac_key, h(vector["ac_data"]), ac, padding)

    for arpc in (vector["arpc"], vector.get("arpc_2")):
        if arpc is None:
            continue
        key = ac_key if arpc["key"] == "session" else icc_mk
        if arpc["method"] == 1:
            result = arpc_method_1(key, ac, h(arpc["arc"]))
        else:
            result = arpc_method_2(key, ac, h(arpc["csu"]), h(arpc["proprietary"]))
        assert result.hex().upper() == arpc["arpc"]


@pytest.mark.parametrize("vector", VECTORS["cryptogram_versions"], ids=ids("cryptogram_versions"))
def test_cryptogram_version(vector: Mapping[str, Any]) -> None:
    version = cryptogram_version(vector["version"])
    data = {int(tag, 16): h(value) for tag, value in vector["tags"].items()}
    assert version.cvn_of_iad(data[0x9F10]) == version.cvn

    check_kcv(h(vector["imk"]), vector["imk_kcv"])
    icc_mk = version.derive_icc_mk(h(vector["imk"]), vector["pan"], vector["psn"])
    check_kcv(icc_mk, vector["icc_mk_kcv"])
    check_kcv(version.ac_key(icc_mk, data), vector["ac_key_kcv"])

    arqc = version.generate_ac(icc_mk, data)
    assert arqc.hex().upper() == vector["arqc"]
    assert version.verify_ac(icc_mk, data, arqc)

    tag_91 = version.issuer_authentication_data(
        icc_mk, data, arqc, approved=vector["approved"], arc=h(vector["arc"])
    )
    assert tag_91.hex().upper() == vector["issuer_authentication_data"]
    assert tag_91.hex().upper().startswith(vector["arpc"])
    assert version.verify_issuer_authentication_data(icc_mk, data, arqc, tag_91)
