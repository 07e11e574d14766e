"""The kernel registry: kernels by kernel identifier (EMV Contactless Book B 3.3.2, 3.4).

The Entry Point chooses a kernel by its Kernel ID, never by a class or module name. A
kernel registers itself with :func:`register` under its id; the built-in kernels (C-2
and C-3) live in the modules of :data:`BUILTIN`, imported the first time the registry is
asked (as python-can's backend table does). A test registers its own kernel the same
way, as EMVCo's type-approval tests activate a test kernel through the Entry Point.

Kernel IDs (Book B 3.3.2.5, Kernel Identifier 9F2A): byte 1 b8-b7 = 00 (international)
or 01 (RFU) makes a *short* kernel id, the whole first byte (Kernel 2 = ``0x02``); b8-b7 =
10 (domestic, EMVCo format) or 11 (domestic, proprietary format) makes an *extended*
kernel id of the first three bytes. Here a kernel id is an int: a short id is below
``0x100``, an extended one is the three bytes big-endian (``0xC10203``), so the two can
never collide (an extended id's first byte is at least ``0x80``). Kernel id 0 is not a
kernel: in a Directory Entry it means "any kernel configured for this AID".

A registered kernel has two entry points: ``activate`` (Book B 3.4: the Entry Point hands
over the selected candidate, its FCI, the pre-processing indicators and the terminal data
in a :class:`~terminal.kernel.session.CardSession`; the kernel answers with the Outcome
parameter set of Book A 6.2 in a :class:`~terminal.kernel.outcome.KernelResult`) and
``resume`` (Book A 6.5, Start D: the issuer's response data handed back to the kernel).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from terminal.kernel.issuer_update import OnlineResponse
    from terminal.kernel.outcome import KernelResult
    from terminal.kernel.session import CardSession
    from terminal.readers.base import Reader

#: Modules whose import registers the built-in kernels.
BUILTIN: tuple[str, ...] = ("terminal.kernel.c2", "terminal.kernel.c3")
#: Kernel id 0 in a Directory Entry: any kernel the combination names (Book B 3.3.2.5).
ANY_KERNEL = 0

Activate = Callable[["CardSession"], "KernelResult"]
Resume = Callable[["Reader", "KernelResult", "OnlineResponse"], "KernelResult"]


@dataclass(frozen=True, slots=True)
class RegisteredKernel:
    """One kernel the Entry Point can activate."""

    kernel_id: int
    name: str
    activate: Activate
    resume: Resume | None = None


_KERNELS: dict[int, RegisteredKernel] = {}
_loaded = False


def is_extended(kernel_id: int) -> bool:
    """True for a 3-byte extended kernel id (Book B 3.3.2.5: b8-b7 of byte 1 = 10 or 11).

    >>> is_extended(0x02), is_extended(0x810203), is_extended(0xC10203)
    (False, True, True)
    """
    return kernel_id >= 0x800000


def valid_kernel_id(kernel_id: int) -> bool:
    """A short id 01-FF (b8-b7 00 or 01) or an extended id with b8-b7 of byte 1 = 10/11.

    >>> [valid_kernel_id(k) for k in (0, 2, 0x3F, 0x80, 0x800001, 0x7F0000, 0x1000000)]
    [False, True, True, False, True, False, False]
    """
    if 0 < kernel_id < 0x80:
        return True
    return 0x800000 <= kernel_id <= 0xFFFFFF


def requested_kernel_id(kernel_identifier: bytes) -> int | None:
    """The Requested Kernel ID of a Kernel Identifier 9F2A (Book B 3.3.2.5 step B).

    ``None`` means the Directory Entry is ignored: a domestic kernel identifier shorter
    than three bytes. An empty identifier counts as absent (0: the RID default applies).

    >>> requested_kernel_id(bytes.fromhex("02")), requested_kernel_id(bytes.fromhex("42"))
    (2, 66)
    >>> hex(requested_kernel_id(bytes.fromhex("C1020304")))
    '0xc10203'
    >>> requested_kernel_id(bytes.fromhex("8102")) is None, requested_kernel_id(b"")
    (True, 0)
    """
    if not kernel_identifier:
        return ANY_KERNEL
    if kernel_identifier[0] & 0x80 == 0:  # b8-b7 = 00 or 01: short kernel id
        return kernel_identifier[0]
    if len(kernel_identifier) < 3:
        return None
    return int.from_bytes(kernel_identifier[:3], "big")


def format_kernel_id(kernel_id: int) -> str:
    """A kernel id as hex: two digits for a short id, six for an extended one.

    >>> format_kernel_id(3), format_kernel_id(0xC10203)
    ('03', 'C10203')
    """
    return f"{kernel_id:06X}" if is_extended(kernel_id) else f"{kernel_id:02X}"


def register(
    kernel_id: int, name: str, *, resume: Resume | None = None
) -> Callable[[Activate], Activate]:
    """Register ``activate`` as the kernel for ``kernel_id`` (a decorator).

    Registering a second kernel under an id already taken is a programming error.
    """
    if not valid_kernel_id(kernel_id):
        raise ValueError(f"not a kernel id: {kernel_id:#x}")

    def add(activate: Activate) -> Activate:
        held = _KERNELS.get(kernel_id)
        if held is not None and held.activate is not activate:
            raise ValueError(f"kernel {format_kernel_id(kernel_id)} is already {held.name}")
        _KERNELS[kernel_id] = RegisteredKernel(kernel_id, name, activate, resume)
        return activate

    return add


def unregister(kernel_id: int) -> None:
    """Remove a registered kernel (tests that registered their own)."""
    _KERNELS.pop(kernel_id, None)


def _load_builtin() -> None:
    global _loaded
    if not _loaded:
        for module in BUILTIN:
            importlib.import_module(module)
        _loaded = True


def lookup(kernel_id: int) -> RegisteredKernel | None:
    """The kernel registered under ``kernel_id``, if any."""
    _load_builtin()
    return _KERNELS.get(kernel_id)


def registered() -> dict[int, RegisteredKernel]:
    """Every registered kernel by id."""
    _load_builtin()
    return dict(_KERNELS)


def kernel_id_by_name(name: str) -> int | None:
    """A kernel id from a settings name: ``3``, ``"03"``, ``"C10203"``, ``"C-3"``, ``"c3"``.

    Older settings named kernels by their module or book (``"c2"``, ``"C-2"``,
    ``"terminal.kernel.c2"``, ``"kernel2"``): those names map to the kernel ids the
    registered kernels carry.

    >>> kernel_id_by_name("03"), kernel_id_by_name("C-2"), kernel_id_by_name("terminal.kernel.c3")
    (3, 2, 3)
    >>> hex(kernel_id_by_name("C10203")), kernel_id_by_name("visa")
    ('0xc10203', None)
    """
    text = name.strip()
    if len(text) in (2, 6):
        try:
            value = int(text, 16)
        except ValueError:
            value = None
        if value is not None and valid_kernel_id(value) and (len(text) == 6) == is_extended(value):
            return value
    short = text.lower().replace("terminal.kernel.", "").replace("kernel", "k").replace("-", "")
    for kernel in registered().values():
        if short in (kernel.name.lower().replace("-", ""), f"k{kernel.kernel_id}"):
            return kernel.kernel_id
    return None
