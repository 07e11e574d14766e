"""terminal: the contactless payment terminal of the Tap stack, for programs that embed it.

A reader (a USB NFC reader through PC/SC or nfcpy, or an in-process card), the EMV
contactless kernel that runs one transaction on it, the acquirer client that authorizes it
online, and the pay mode that ties the three together. What a program needs is here; the
bike and locker modes are in :mod:`terminal.modes`, the actuators under them in
:mod:`terminal.actuators`, the settings file in :mod:`terminal.settings`.

A shop's payment, as ``tap-terminal pay 12.50`` takes it::

    from contextlib import closing

    from terminal import AcquirerClient, Outcome, Transaction, open_reader, pay

    with open_reader("pcsc") as reader, closing(AcquirerClient("https://acq.example")) as client:
        result = pay(reader, Transaction(1250, "EUR"), terminal_id="TERM0001", client=client)
    print("approved" if result.outcome is Outcome.APPROVED else result.reason)

The kernel sees only a :class:`Reader`; the :class:`LoopbackReader` is the in-process wire to
anything that answers APDUs (an emulated card, a test double):

>>> class NoPaymentApp:
...     def process_apdu(self, apdu: bytes) -> bytes:
...         return bytes.fromhex("6A82")  # file or application not found
>>> result = Kernel().run(LoopbackReader(NoPaymentApp()), Transaction(1250, "EUR"))
>>> result.outcome is Outcome.END_APPLICATION, result.reason
(True, 'card_not_supported')

Every error is a :class:`TerminalError` (the tree is drawn in :mod:`terminal.errors`); the
kernel itself never raises on card behaviour, it returns an outcome.
"""

from terminal.errors import (
    AcquirerRejectedError,
    AcquirerUnavailableError,
    ActionBusyError,
    ActionConflictError,
    ActionKeyReusedError,
    ActionRefusedError,
    ActuatorError,
    ActuatorJammedError,
    ActuatorProtocolError,
    ActuatorTimeoutError,
    ActuatorUnavailableError,
    CancelledBeforeSendingError,
    CardCollisionError,
    CardDataRefusedError,
    CardNotRemovedError,
    CardRemovedError,
    CardTimeoutError,
    CardWaitCancelledError,
    ConsoleError,
    DaemonError,
    DaemonRefusedError,
    DaemonUnreachableError,
    IllegalTransitionError,
    JournalError,
    JournalUnavailableError,
    NoCardError,
    OnlineError,
    PrinterError,
    ReaderAbsentError,
    ReaderError,
    ReaderUnavailableError,
    SettingsError,
    StatusUnavailableError,
    TerminalError,
    UnknownActionError,
    UnknownRecordError,
    UnknownUnitError,
)
from terminal.kernel import Kernel, KernelConfig, KernelResult, Outcome, Transaction
from terminal.modes.pay import PaymentResult, pay
from terminal.online import AcquirerClient, AuthorizationResponse
from terminal.readers import CardInfo, Reader, open_reader
from terminal.readers.emulated import LoopbackReader

__all__ = [
    "AcquirerClient",
    "AcquirerRejectedError",
    "AcquirerUnavailableError",
    "ActionBusyError",
    "ActionConflictError",
    "ActionKeyReusedError",
    "ActionRefusedError",
    "ActuatorError",
    "ActuatorJammedError",
    "ActuatorProtocolError",
    "ActuatorTimeoutError",
    "ActuatorUnavailableError",
    "AuthorizationResponse",
    "CancelledBeforeSendingError",
    "CardCollisionError",
    "CardDataRefusedError",
    "CardInfo",
    "CardNotRemovedError",
    "CardRemovedError",
    "CardTimeoutError",
    "CardWaitCancelledError",
    "ConsoleError",
    "DaemonError",
    "DaemonRefusedError",
    "DaemonUnreachableError",
    "IllegalTransitionError",
    "JournalError",
    "JournalUnavailableError",
    "Kernel",
    "KernelConfig",
    "KernelResult",
    "LoopbackReader",
    "NoCardError",
    "OnlineError",
    "Outcome",
    "PaymentResult",
    "PrinterError",
    "Reader",
    "ReaderAbsentError",
    "ReaderError",
    "ReaderUnavailableError",
    "SettingsError",
    "StatusUnavailableError",
    "TerminalError",
    "Transaction",
    "UnknownActionError",
    "UnknownRecordError",
    "UnknownUnitError",
    "open_reader",
    "pay",
]
