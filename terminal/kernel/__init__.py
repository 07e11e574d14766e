"""The EMV contactless kernel: entry point, C-2 and C-3 paths, outcomes."""

from terminal.kernel.config import Combination, KernelConfig
from terminal.kernel.kernel import Kernel
from terminal.kernel.outcome import KernelResult, Outcome
from terminal.kernel.transaction import Transaction

__all__ = ["Combination", "Kernel", "KernelConfig", "KernelResult", "Outcome", "Transaction"]
