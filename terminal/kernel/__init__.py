"""The EMV contactless kernel: the Entry Point (Book B), the kernel registry, C-2 and C-3, outcomes."""

from terminal.kernel.config import Combination, KernelConfig, ReaderLimits
from terminal.kernel.cvm import Cvm
from terminal.kernel.issuer_update import OnlineResponse
from terminal.kernel.kernel import Kernel
from terminal.kernel.outcome import KernelResult, Outcome, Start
from terminal.kernel.transaction import Transaction
from terminal.kernel.tvr import TsiBit, TvrBit
from terminal.kernel.ui import MessageId, Status, UiRequest

__all__ = [
    "Combination",
    "Cvm",
    "Kernel",
    "KernelConfig",
    "KernelResult",
    "MessageId",
    "OnlineResponse",
    "Outcome",
    "ReaderLimits",
    "Start",
    "Status",
    "Transaction",
    "TsiBit",
    "TvrBit",
    "UiRequest",
]
