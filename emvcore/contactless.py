"""Contactless qualifiers and signals that cards and kernels share (EMV Contactless C-2, C-3).

Bit masks of the Terminal Transaction Qualifiers (9F66) and Card Transaction Qualifiers
(9F6C), the status words by which a card steers the reader, and the data a phone and a
kernel use for on-device cardholder verification. The emulated cards set them, the kernel
reads them; both take them from here.
"""

from __future__ import annotations

# TTQ 9F66 (Book C-3 Annex A): byte 1
TTQ_ONLINE_PIN = 0x04
TTQ_SIGNATURE = 0x02
TTQ_ODA_FOR_ONLINE = 0x01
# TTQ byte 2, set per transaction by Entry Point pre-processing (Book B 3.1.1)
TTQ_ONLINE_CRYPTOGRAM_REQUIRED = 0x80
TTQ_CVM_REQUIRED = 0x40

# CTQ 9F6C (Book C-3 Annex A): byte 1
CTQ_ONLINE_PIN_REQUIRED = 0x80
CTQ_SIGNATURE_REQUIRED = 0x40
CTQ_ONLINE_IF_ODA_FAILS = 0x20
CTQ_SWITCH_INTERFACE_IF_ODA_FAILS = 0x10
# CTQ byte 2
CTQ_CDCVM_PERFORMED = 0x80

#: GPO status word: a phone asks its holder to look at it (Book C-3 5.2.2).
SW_SEE_PHONE = 0x6986
#: GPO status word: the card will not go on contactlessly (Book C-3 5.2.2).
SW_TRY_ANOTHER_INTERFACE = 0x6984

#: fDDA version 01: 9F69 = version || card unpredictable number || CTQ (Book C-3).
FDDA_VERSION_01 = 0x01

#: CVM Results when the C-2 kernel relies on the phone's own verification (Book C-2).
CDCVM_RESULTS = bytes.fromhex("010002")
#: POS Cardholder Interaction Information (Book C-2); byte 2 b1: OD-CVM required.
TAG_POS_CARDHOLDER_INTERACTION = 0xDF4B
PCII_OD_CVM_REQUIRED = 0x01
