"""The EMV tag dictionary: names, formats, sources and lengths of data elements.

Entries follow EMV Book 3 Annex A (Table 33, "Data Elements Dictionary") and, for the
contactless data elements, EMV Contactless Book A/B (Entry Point: ``9F2A``, ``9F66``),
Book C-3 (``9F5D``, ``9F69``, ``9F6C``, ``9F6E``) and the EMV Payment Tokenisation
framework (``9F19``, ``9F24``, ``9F25``).

A few tags mean different things in different contactless kernels. This table uses the
Book C-3 meaning and names the Book C-2 meaning in a comment; a kernel that needs the
other one keeps its own override:

======  ==================================  ====================================
Tag     Book C-3 (used here)                Book C-2
======  ==================================  ====================================
9F5D    Available Offline Spending Amount   Application Capabilities Information
9F69    Card Authentication Related Data    UDOL
9F6E    Form Factor Indicator               Third Party Data
======  ==================================  ====================================

``min_length``/``max_length`` are in bytes; for a variable-length element whose minimum
the specification leaves open ("var. up to n"), ``min_length`` is 0. Lengths that depend
on a key size (certificates, ``Nca``/``Ni``/``Nic``) are given as 1 to 248.

>>> name(Tag.AMOUNT_AUTHORISED)
'Amount, Authorised (Numeric)'
>>> format_of(0x5A), format_of(0x9F7F)
(<Format.CN: 'cn'>, <Format.B: 'b'>)
>>> name(0x9F7F)
'Unknown tag 9F7F'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from types import MappingProxyType

__all__ = ["TAGS", "Format", "Source", "Tag", "TagInfo", "format_of", "info", "name"]


class Format(StrEnum):
    """Data element formats of Book 3 section 4.3."""

    N = "n"  #: numeric, BCD right-justified, leading zero nibbles
    CN = "cn"  #: compressed numeric, BCD left-justified, trailing 'F' nibbles
    AN = "an"  #: alphanumeric, one character per byte
    ANS = "ans"  #: alphanumeric and special characters
    B = "b"  #: binary (bit strings, templates, anything else)


class Source(StrEnum):
    """Who provides a data element (Book 3 Annex A "Source")."""

    ICC = "icc"
    TERMINAL = "terminal"
    ISSUER = "issuer"


@dataclass(frozen=True, slots=True)
class TagInfo:
    """What the dictionary knows about one tag."""

    tag: int
    name: str
    format: Format
    source: Source
    min_length: int
    max_length: int


class Tag(IntEnum):
    """EMV tags by their specification names."""

    AID = 0x4F
    APPLICATION_LABEL = 0x50
    TRACK2 = 0x57
    PAN = 0x5A
    CARDHOLDER_NAME = 0x5F20
    APPLICATION_EXPIRATION_DATE = 0x5F24
    APPLICATION_EFFECTIVE_DATE = 0x5F25
    ISSUER_COUNTRY_CODE = 0x5F28
    TRANSACTION_CURRENCY_CODE = 0x5F2A
    LANGUAGE_PREFERENCE = 0x5F2D
    SERVICE_CODE = 0x5F30
    PSN = 0x5F34
    TRANSACTION_CURRENCY_EXPONENT = 0x5F36
    APPLICATION_TEMPLATE = 0x61
    FCI_TEMPLATE = 0x6F
    READ_RECORD_RESPONSE_TEMPLATE = 0x70
    ISSUER_SCRIPT_TEMPLATE_1 = 0x71
    ISSUER_SCRIPT_TEMPLATE_2 = 0x72
    DIRECTORY_DISCRETIONARY_TEMPLATE = 0x73
    RESPONSE_MESSAGE_TEMPLATE_FORMAT_2 = 0x77
    RESPONSE_MESSAGE_TEMPLATE_FORMAT_1 = 0x80
    AIP = 0x82
    COMMAND_TEMPLATE = 0x83
    DF_NAME = 0x84
    ISSUER_SCRIPT_COMMAND = 0x86
    APPLICATION_PRIORITY = 0x87
    SFI = 0x88
    ARC = 0x8A
    CDOL1 = 0x8C
    CDOL2 = 0x8D
    CVM_LIST = 0x8E
    CA_PUBLIC_KEY_INDEX = 0x8F
    ISSUER_PUBLIC_KEY_CERTIFICATE = 0x90
    ISSUER_AUTHENTICATION_DATA = 0x91
    ISSUER_PUBLIC_KEY_REMAINDER = 0x92
    SIGNED_STATIC_APPLICATION_DATA = 0x93
    AFL = 0x94
    TVR = 0x95
    TDOL = 0x97
    TC_HASH_VALUE = 0x98
    TRANSACTION_DATE = 0x9A
    TSI = 0x9B
    TRANSACTION_TYPE = 0x9C
    DDF_NAME = 0x9D
    AMOUNT_AUTHORISED = 0x9F02
    AMOUNT_OTHER = 0x9F03
    AID_TERMINAL = 0x9F06
    APPLICATION_USAGE_CONTROL = 0x9F07
    APPLICATION_VERSION_NUMBER_ICC = 0x9F08
    APPLICATION_VERSION_NUMBER_TERMINAL = 0x9F09
    IAC_DEFAULT = 0x9F0D
    IAC_DENIAL = 0x9F0E
    IAC_ONLINE = 0x9F0F
    IAD = 0x9F10
    ISSUER_CODE_TABLE_INDEX = 0x9F11
    APPLICATION_PREFERRED_NAME = 0x9F12
    LAST_ONLINE_ATC_REGISTER = 0x9F13
    MERCHANT_CATEGORY_CODE = 0x9F15
    MERCHANT_IDENTIFIER = 0x9F16
    PIN_TRY_COUNTER = 0x9F17
    TOKEN_REQUESTOR_ID = 0x9F19
    TERMINAL_COUNTRY_CODE = 0x9F1A
    TERMINAL_FLOOR_LIMIT = 0x9F1B
    TERMINAL_IDENTIFICATION = 0x9F1C
    TERMINAL_RISK_MANAGEMENT_DATA = 0x9F1D
    IFD_SERIAL_NUMBER = 0x9F1E
    TRACK1_DISCRETIONARY_DATA = 0x9F1F
    TRACK2_DISCRETIONARY_DATA = 0x9F20
    TRANSACTION_TIME = 0x9F21
    PAR = 0x9F24
    LAST_4_DIGITS_OF_PAN = 0x9F25
    APPLICATION_CRYPTOGRAM = 0x9F26
    CID = 0x9F27
    KERNEL_IDENTIFIER = 0x9F2A
    ISSUER_PUBLIC_KEY_EXPONENT = 0x9F32
    TERMINAL_CAPABILITIES = 0x9F33
    CVM_RESULTS = 0x9F34
    TERMINAL_TYPE = 0x9F35
    ATC = 0x9F36
    UNPREDICTABLE_NUMBER = 0x9F37
    PDOL = 0x9F38
    POS_ENTRY_MODE = 0x9F39
    ADDITIONAL_TERMINAL_CAPABILITIES = 0x9F40
    TRANSACTION_SEQUENCE_COUNTER = 0x9F41
    APPLICATION_CURRENCY_CODE = 0x9F42
    ICC_PUBLIC_KEY_CERTIFICATE = 0x9F46
    ICC_PUBLIC_KEY_EXPONENT = 0x9F47
    ICC_PUBLIC_KEY_REMAINDER = 0x9F48
    DDOL = 0x9F49
    SDA_TAG_LIST = 0x9F4A
    SIGNED_DYNAMIC_APPLICATION_DATA = 0x9F4B
    ICC_DYNAMIC_NUMBER = 0x9F4C
    LOG_ENTRY = 0x9F4D
    MERCHANT_NAME_AND_LOCATION = 0x9F4E
    TRANSACTION_CATEGORY_CODE = 0x9F53
    AVAILABLE_OFFLINE_SPENDING_AMOUNT = 0x9F5D
    TTQ = 0x9F66
    CARD_AUTHENTICATION_RELATED_DATA = 0x9F69
    CTQ = 0x9F6C
    FORM_FACTOR_INDICATOR = 0x9F6E
    CUSTOMER_EXCLUSIVE_DATA = 0x9F7C
    FCI_PROPRIETARY_TEMPLATE = 0xA5
    FCI_ISSUER_DISCRETIONARY_DATA = 0xBF0C


_N, _CN, _AN, _ANS, _B = Format.N, Format.CN, Format.AN, Format.ANS, Format.B
_ICC, _TERM, _ISS = Source.ICC, Source.TERMINAL, Source.ISSUER
_KEY = 248  # longest key-sized field (certificate, remainder) a 1984-bit key gives

# One line per tag: tag, specification name, format, source, min length, max length (bytes).
# fmt: off
_TABLE: tuple[tuple[Tag, str, Format, Source, int, int], ...] = (
    (Tag.AID, "Application Identifier (AID) - card", _B, _ICC, 5, 16),
    (Tag.APPLICATION_LABEL, "Application Label", _ANS, _ICC, 1, 16),
    (Tag.TRACK2, "Track 2 Equivalent Data", _B, _ICC, 0, 19),
    (Tag.PAN, "Application Primary Account Number (PAN)", _CN, _ICC, 0, 10),
    (Tag.CARDHOLDER_NAME, "Cardholder Name", _ANS, _ICC, 2, 26),
    (Tag.APPLICATION_EXPIRATION_DATE, "Application Expiration Date", _N, _ICC, 3, 3),
    (Tag.APPLICATION_EFFECTIVE_DATE, "Application Effective Date", _N, _ICC, 3, 3),
    (Tag.ISSUER_COUNTRY_CODE, "Issuer Country Code", _N, _ICC, 2, 2),
    (Tag.TRANSACTION_CURRENCY_CODE, "Transaction Currency Code", _N, _TERM, 2, 2),
    (Tag.LANGUAGE_PREFERENCE, "Language Preference", _AN, _ICC, 2, 8),
    (Tag.SERVICE_CODE, "Service Code", _N, _ICC, 2, 2),
    (Tag.PSN, "Application Primary Account Number (PAN) Sequence Number", _N, _ICC, 1, 1),
    (Tag.TRANSACTION_CURRENCY_EXPONENT, "Transaction Currency Exponent", _N, _TERM, 1, 1),
    (Tag.APPLICATION_TEMPLATE, "Application Template", _B, _ICC, 0, 252),
    (Tag.FCI_TEMPLATE, "File Control Information (FCI) Template", _B, _ICC, 0, 252),
    (Tag.READ_RECORD_RESPONSE_TEMPLATE, "READ RECORD Response Message Template", _B, _ICC, 0, 253),
    (Tag.ISSUER_SCRIPT_TEMPLATE_1, "Issuer Script Template 1", _B, _ISS, 0, 255),
    (Tag.ISSUER_SCRIPT_TEMPLATE_2, "Issuer Script Template 2", _B, _ISS, 0, 255),
    (Tag.DIRECTORY_DISCRETIONARY_TEMPLATE, "Directory Discretionary Template", _B, _ICC, 0, 252),
    (Tag.RESPONSE_MESSAGE_TEMPLATE_FORMAT_2, "Response Message Template Format 2", _B, _ICC, 0, 253),
    (Tag.RESPONSE_MESSAGE_TEMPLATE_FORMAT_1, "Response Message Template Format 1", _B, _ICC, 0, 253),
    (Tag.AIP, "Application Interchange Profile", _B, _ICC, 2, 2),
    (Tag.COMMAND_TEMPLATE, "Command Template", _B, _TERM, 0, 255),
    (Tag.DF_NAME, "Dedicated File (DF) Name", _B, _ICC, 5, 16),
    (Tag.ISSUER_SCRIPT_COMMAND, "Issuer Script Command", _B, _ISS, 0, 261),
    (Tag.APPLICATION_PRIORITY, "Application Priority Indicator", _B, _ICC, 1, 1),
    (Tag.SFI, "Short File Identifier (SFI)", _B, _ICC, 1, 1),
    (Tag.ARC, "Authorisation Response Code", _AN, _ISS, 2, 2),
    (Tag.CDOL1, "Card Risk Management Data Object List 1 (CDOL1)", _B, _ICC, 0, 252),
    (Tag.CDOL2, "Card Risk Management Data Object List 2 (CDOL2)", _B, _ICC, 0, 252),
    (Tag.CVM_LIST, "Cardholder Verification Method (CVM) List", _B, _ICC, 10, 252),
    (Tag.CA_PUBLIC_KEY_INDEX, "Certification Authority Public Key Index", _B, _ICC, 1, 1),
    (Tag.ISSUER_PUBLIC_KEY_CERTIFICATE, "Issuer Public Key Certificate", _B, _ICC, 1, _KEY),
    (Tag.ISSUER_AUTHENTICATION_DATA, "Issuer Authentication Data", _B, _ISS, 8, 16),
    (Tag.ISSUER_PUBLIC_KEY_REMAINDER, "Issuer Public Key Remainder", _B, _ICC, 1, _KEY),
    (Tag.SIGNED_STATIC_APPLICATION_DATA, "Signed Static Application Data", _B, _ICC, 1, _KEY),
    (Tag.AFL, "Application File Locator (AFL)", _B, _ICC, 0, 252),
    (Tag.TVR, "Terminal Verification Results", _B, _TERM, 5, 5),
    (Tag.TDOL, "Transaction Certificate Data Object List (TDOL)", _B, _ICC, 0, 252),
    (Tag.TC_HASH_VALUE, "Transaction Certificate (TC) Hash Value", _B, _TERM, 20, 20),
    (Tag.TRANSACTION_DATE, "Transaction Date", _N, _TERM, 3, 3),
    (Tag.TSI, "Transaction Status Information", _B, _TERM, 2, 2),
    (Tag.TRANSACTION_TYPE, "Transaction Type", _N, _TERM, 1, 1),
    (Tag.DDF_NAME, "Directory Definition File (DDF) Name", _B, _ICC, 5, 16),
    (Tag.AMOUNT_AUTHORISED, "Amount, Authorised (Numeric)", _N, _TERM, 6, 6),
    (Tag.AMOUNT_OTHER, "Amount, Other (Numeric)", _N, _TERM, 6, 6),
    (Tag.AID_TERMINAL, "Application Identifier (AID) - terminal", _B, _TERM, 5, 16),
    (Tag.APPLICATION_USAGE_CONTROL, "Application Usage Control", _B, _ICC, 2, 2),
    (Tag.APPLICATION_VERSION_NUMBER_ICC, "Application Version Number", _B, _ICC, 2, 2),
    (Tag.APPLICATION_VERSION_NUMBER_TERMINAL, "Application Version Number", _B, _TERM, 2, 2),
    (Tag.IAC_DEFAULT, "Issuer Action Code - Default", _B, _ICC, 5, 5),
    (Tag.IAC_DENIAL, "Issuer Action Code - Denial", _B, _ICC, 5, 5),
    (Tag.IAC_ONLINE, "Issuer Action Code - Online", _B, _ICC, 5, 5),
    (Tag.IAD, "Issuer Application Data", _B, _ICC, 0, 32),
    (Tag.ISSUER_CODE_TABLE_INDEX, "Issuer Code Table Index", _N, _ICC, 1, 1),
    (Tag.APPLICATION_PREFERRED_NAME, "Application Preferred Name", _ANS, _ICC, 1, 16),
    (Tag.LAST_ONLINE_ATC_REGISTER, "Last Online Application Transaction Counter (ATC) Register", _B, _ICC, 2, 2),
    (Tag.MERCHANT_CATEGORY_CODE, "Merchant Category Code", _N, _TERM, 2, 2),
    (Tag.MERCHANT_IDENTIFIER, "Merchant Identifier", _ANS, _TERM, 15, 15),
    (Tag.PIN_TRY_COUNTER, "Personal Identification Number (PIN) Try Counter", _B, _ICC, 1, 1),
    (Tag.TOKEN_REQUESTOR_ID, "Token Requestor ID", _N, _ICC, 6, 6),
    (Tag.TERMINAL_COUNTRY_CODE, "Terminal Country Code", _N, _TERM, 2, 2),
    (Tag.TERMINAL_FLOOR_LIMIT, "Terminal Floor Limit", _B, _TERM, 4, 4),
    (Tag.TERMINAL_IDENTIFICATION, "Terminal Identification", _AN, _TERM, 8, 8),
    (Tag.TERMINAL_RISK_MANAGEMENT_DATA, "Terminal Risk Management Data", _B, _TERM, 1, 8),
    (Tag.IFD_SERIAL_NUMBER, "Interface Device (IFD) Serial Number", _AN, _TERM, 8, 8),
    (Tag.TRACK1_DISCRETIONARY_DATA, "Track 1 Discretionary Data", _ANS, _ICC, 0, 54),
    (Tag.TRACK2_DISCRETIONARY_DATA, "Track 2 Discretionary Data", _CN, _ICC, 0, 16),
    (Tag.TRANSACTION_TIME, "Transaction Time", _N, _TERM, 3, 3),
    (Tag.PAR, "Payment Account Reference (PAR)", _AN, _ICC, 29, 29),
    (Tag.LAST_4_DIGITS_OF_PAN, "Last 4 Digits of PAN", _N, _ICC, 2, 2),
    (Tag.APPLICATION_CRYPTOGRAM, "Application Cryptogram", _B, _ICC, 8, 8),
    (Tag.CID, "Cryptogram Information Data", _B, _ICC, 1, 1),
    (Tag.KERNEL_IDENTIFIER, "Kernel Identifier", _B, _ICC, 1, 8),
    (Tag.ISSUER_PUBLIC_KEY_EXPONENT, "Issuer Public Key Exponent", _B, _ICC, 1, 3),
    (Tag.TERMINAL_CAPABILITIES, "Terminal Capabilities", _B, _TERM, 3, 3),
    (Tag.CVM_RESULTS, "Cardholder Verification Method (CVM) Results", _B, _TERM, 3, 3),
    (Tag.TERMINAL_TYPE, "Terminal Type", _N, _TERM, 1, 1),
    (Tag.ATC, "Application Transaction Counter (ATC)", _B, _ICC, 2, 2),
    (Tag.UNPREDICTABLE_NUMBER, "Unpredictable Number", _B, _TERM, 4, 4),
    (Tag.PDOL, "Processing Options Data Object List (PDOL)", _B, _ICC, 0, 252),
    (Tag.POS_ENTRY_MODE, "Point-of-Service (POS) Entry Mode", _N, _TERM, 1, 1),
    (Tag.ADDITIONAL_TERMINAL_CAPABILITIES, "Additional Terminal Capabilities", _B, _TERM, 5, 5),
    (Tag.TRANSACTION_SEQUENCE_COUNTER, "Transaction Sequence Counter", _N, _TERM, 2, 4),
    (Tag.APPLICATION_CURRENCY_CODE, "Application Currency Code", _N, _ICC, 2, 2),
    (Tag.ICC_PUBLIC_KEY_CERTIFICATE, "ICC Public Key Certificate", _B, _ICC, 1, _KEY),
    (Tag.ICC_PUBLIC_KEY_EXPONENT, "ICC Public Key Exponent", _B, _ICC, 1, 3),
    (Tag.ICC_PUBLIC_KEY_REMAINDER, "ICC Public Key Remainder", _B, _ICC, 1, _KEY),
    (Tag.DDOL, "Dynamic Data Authentication Data Object List (DDOL)", _B, _ICC, 0, 252),
    (Tag.SDA_TAG_LIST, "Static Data Authentication Tag List", _B, _ICC, 0, 252),
    (Tag.SIGNED_DYNAMIC_APPLICATION_DATA, "Signed Dynamic Application Data", _B, _ICC, 1, _KEY),
    (Tag.ICC_DYNAMIC_NUMBER, "ICC Dynamic Number", _B, _ICC, 2, 8),
    (Tag.LOG_ENTRY, "Log Entry", _B, _ICC, 2, 2),
    (Tag.MERCHANT_NAME_AND_LOCATION, "Merchant Name and Location", _ANS, _TERM, 0, 255),
    (Tag.TRANSACTION_CATEGORY_CODE, "Transaction Category Code", _AN, _TERM, 1, 1),
    # Book C-2: 9F5D is Application Capabilities Information (b, 3).
    (Tag.AVAILABLE_OFFLINE_SPENDING_AMOUNT, "Available Offline Spending Amount", _N, _ICC, 6, 6),
    (Tag.TTQ, "Terminal Transaction Qualifiers (TTQ)", _B, _TERM, 4, 4),
    # Book C-2: 9F69 is the UDOL (b, var. up to 252).
    (Tag.CARD_AUTHENTICATION_RELATED_DATA, "Card Authentication Related Data", _B, _ICC, 5, 16),
    (Tag.CTQ, "Card Transaction Qualifiers (CTQ)", _B, _ICC, 2, 2),
    # Book C-2: 9F6E is Third Party Data (b, 5 to 32).
    (Tag.FORM_FACTOR_INDICATOR, "Form Factor Indicator (FFI)", _B, _ICC, 4, 4),
    (Tag.CUSTOMER_EXCLUSIVE_DATA, "Customer Exclusive Data (CED)", _B, _ICC, 0, 32),
    (Tag.FCI_PROPRIETARY_TEMPLATE, "File Control Information (FCI) Proprietary Template", _B, _ICC, 0, 252),
    (Tag.FCI_ISSUER_DISCRETIONARY_DATA, "File Control Information (FCI) Issuer Discretionary Data", _B, _ICC, 0, 222),
)
# fmt: on

#: Every known tag, read-only.
TAGS: Mapping[int, TagInfo] = MappingProxyType(
    {int(t): TagInfo(int(t), n, f, s, lo, hi) for t, n, f, s, lo, hi in _TABLE}
)


def info(tag: int) -> TagInfo | None:
    """The dictionary entry of ``tag``, or ``None`` if it is not in the table.

    >>> entry = info(0x9F37)
    >>> entry.name, entry.format, entry.source, entry.max_length
    ('Unpredictable Number', <Format.B: 'b'>, <Source.TERMINAL: 'terminal'>, 4)
    >>> info(0x9F7F) is None
    True
    """
    return TAGS.get(tag)


def name(tag: int) -> str:
    """The specification name of ``tag``, or ``"Unknown tag XXXX"``.

    >>> name(0x9F66), name(0xDF8101)
    ('Terminal Transaction Qualifiers (TTQ)', 'Unknown tag DF8101')
    """
    entry = TAGS.get(tag)
    return entry.name if entry is not None else f"Unknown tag {tag:02X}"


def format_of(tag: int) -> Format:
    """The format of ``tag``; :attr:`Format.B` when the tag is unknown.

    >>> format_of(Tag.AMOUNT_AUTHORISED), format_of(Tag.TVR)
    (<Format.N: 'n'>, <Format.B: 'b'>)
    """
    entry = TAGS.get(tag)
    return entry.format if entry is not None else Format.B
