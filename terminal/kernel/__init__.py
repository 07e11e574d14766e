"""The EMV contactless kernel: pre-processing, entry point, C-2 and C-3 paths, ODA, CVM, outcomes."""

from terminal.kernel.config import Combination, KernelConfig, ReaderLimits
from terminal.kernel.cvm import Cvm
from terminal.kernel.kernel import Kernel
from terminal.kernel.outcome import KernelResult, Outcome
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
    "Outcome",
    "ReaderLimits",
    "Status",
    "Transaction",
    "TsiBit",
    "TvrBit",
    "UiRequest",
]
