"""The exception tree of :mod:`terminal`::

    TerminalError
     ├── SettingsError                 the settings file is unreadable or a value is invalid
     ├── DaemonError                   the daemon refused a request of its local API
     │    ├── ActionBusyError              another action is running on the reader
     │    ├── ActionConflictError          not possible in the action's (or the terminal's) state
     │    ├── ActionKeyReusedError         the same Idempotency-Key came with a different request
     │    ├── UnknownActionError           no action with that id
     │    ├── ActionRefusedError           a well-formed request this terminal will not run
     │    └── ReaderAbsentError            the terminal's reader is not there
     ├── PrinterError                  a receipt printer is missing or failed
     ├── JournalError                  the journal or the outbox cannot do what was asked
     │    ├── JournalUnavailableError      a journal or outbox file cannot be opened, read or written
     │    ├── IllegalTransitionError       a state change the journal's state machine does not allow
     │    ├── UnknownRecordError           no journal transaction or outbox item with that id
     │    ├── CardDataRefusedError         a value to record looks like a PAN (only tokens, masked)
     │    └── StatusUnavailableError       the acquirer's status lookup gave no usable answer
     ├── ReaderError                   a reader backend failed
     │    ├── ReaderUnavailableError       backend library missing, or no such reader
     │    ├── NoCardError                  no card was presented within the wait
     │    ├── CardRemovedError             the card left the field during an exchange
     │    ├── CardCollisionError           more than one card in the field
     │    ├── CardTimeoutError             the card did not answer within the card timeout
     │    ├── CardNotRemovedError          the last transaction's card stayed in the field
     │    └── CardWaitCancelledError       Reader.cancel() ended a wait or an exchange
     ├── OnlineError                   a request to the acquirer could not be completed
     │    ├── AcquirerUnavailableError     no connection, or no answer in time
     │    │    └── CancelledBeforeSendingError  the daemon's cancel stopped it before it left
     │    └── AcquirerRejectedError        the acquirer refused the request (4xx/5xx problem)
     ├── ConsoleError                  the console's request to the terminal daemon failed
     │    ├── DaemonUnreachableError       no connection to the daemon's local API, or no answer
     │    └── DaemonRefusedError           the daemon answered a 4xx/5xx problem
     └── ActuatorError                 a dock lock or locker door controller failed
          ├── ActuatorUnavailableError     backend library missing, bad spec, device silent or disconnected
          ├── UnknownUnitError             no such dock or compartment on this controller
          ├── ActuatorProtocolError        the controller sent something outside its protocol
          └── ActuatorTimeoutError         an open was not confirmed in time (unit re-secured, state re-read)
               └── ActuatorJammedError         the unit reported jammed instead of opening

The kernel itself never raises on card behaviour: removal, timeouts and bad card data become
outcomes (Try Again, End Application, ...). Library errors are mapped into this tree at the
boundary (httpx in ``online``, pyscard in ``readers.pcsc``, nfcpy in ``readers.nfc``, pyserial
and paho-mqtt in ``actuators``);
messages never carry a PAN or key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from terminal.actuators.base import UnitState


class TerminalError(Exception):
    """Base class of every error raised by the terminal."""


class SettingsError(TerminalError):
    """The settings file cannot be read or holds an invalid value."""


class DaemonError(TerminalError):
    """The daemon refused a request of its local API (the API answers a 4xx/5xx problem)."""

    code = "daemon_error"


class ActionBusyError(DaemonError):
    """Another action is running on the reader (one at a time); ``running`` is its id."""

    code = "action_in_progress"

    def __init__(self, message: str, running: str) -> None:
        super().__init__(message)
        self.running = running


class ActionConflictError(DaemonError):
    """Not possible in the action's state (or the terminal's: a display while busy)."""

    code = "action_state_conflict"


class ActionKeyReusedError(DaemonError):
    """The same Idempotency-Key came with a different request body."""

    code = "idempotency_key_reused"


class UnknownActionError(DaemonError):
    """No action with that id."""

    code = "action_unknown"


class ActionRefusedError(DaemonError):
    """A well-formed request this terminal will not run (``code`` says why)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class ReaderAbsentError(DaemonError):
    """The terminal's reader is not there (unplugged, or not yet found)."""

    code = "reader_absent"


class PrinterError(TerminalError):
    """A receipt printer is missing (or its library is) or failed while printing."""


class JournalError(TerminalError):
    """The journal or the outbox (the terminal's durable records) cannot do what was asked."""


class JournalUnavailableError(JournalError):
    """A journal or outbox file cannot be created, opened, read or written."""


class IllegalTransitionError(JournalError):
    """A journal state change that the transaction state machine does not allow."""


class UnknownRecordError(JournalError):
    """No journal transaction or outbox item has that id (or idempotency key)."""


class CardDataRefusedError(JournalError):
    """A value to record holds what looks like a full PAN: the journal keeps masked ones only."""


class StatusUnavailableError(JournalError):
    """The acquirer's status lookup could not be reached or gave an answer that is not one."""


class ReaderError(TerminalError):
    """A reader backend failed."""


class ReaderUnavailableError(ReaderError):
    """The backend's library is not installed, or the named reader does not exist."""


class NoCardError(ReaderError):
    """No card was presented within the wait."""


class CardRemovedError(ReaderError):
    """The card left the field during an exchange (EMV: "Try Again")."""


class CardCollisionError(ReaderError):
    """More than one card answered in the field (EMV: "Please present one card only")."""


class CardTimeoutError(ReaderError):
    """The card did not answer within the card timeout."""


class CardNotRemovedError(ReaderError):
    """The card of the last transaction stayed in the field: it is not read again (Book A 5)."""


class CardWaitCancelledError(ReaderError):
    """``Reader.cancel()`` (or ``close()``) ended a wait for a card, for its removal, or an
    exchange: the operator or a signal stopped the transaction, no customer did."""


class OnlineError(TerminalError):
    """A request to the acquirer (an authorization, a rental, a pickup) could not be completed.

    The terminal's side of the wire; the acquirer service's own tree is rooted at
    ``acquirer.errors.AcquirerError``, a different class for a different package.
    """


class AcquirerUnavailableError(OnlineError):
    """No connection to the acquirer, or no answer within the timeout.

    ``maybe_delivered`` is False only when the request certainly never left (no
    connection); otherwise the acquirer may have acted on it and the terminal reverses.
    """

    def __init__(self, message: str, *, maybe_delivered: bool) -> None:
        super().__init__(message)
        self.maybe_delivered = maybe_delivered


class CancelledBeforeSendingError(AcquirerUnavailableError):
    """The action was cancelled at the gate: the authorization never left (nothing to undo)."""

    def __init__(self) -> None:
        super().__init__("cancelled before the authorization was sent", maybe_delivered=False)


class AcquirerRejectedError(OnlineError):
    """The acquirer answered with a problem (HTTP 4xx/5xx) instead of a decision."""

    def __init__(self, message: str, *, status: int, code: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ConsoleError(TerminalError):
    """A request of the shopkeeper's console to the terminal daemon's local API failed."""


class DaemonUnreachableError(ConsoleError):
    """No connection to the daemon's local API, or no answer in time."""


class DaemonRefusedError(ConsoleError):
    """The daemon answered with a problem (RFC 9457): its status, ``code`` and ``detail``."""

    def __init__(self, status: int, code: str | None, detail: str,
                 problem: dict[str, object] | None = None) -> None:  # fmt: skip
        super().__init__(f"{detail} ({status}{', ' + code if code else ''})")
        self.status, self.code, self.detail = status, code, detail
        self.problem = problem or {}


class ActuatorError(TerminalError):
    """A dock lock or locker door controller failed; ``unit`` names the unit when one is concerned."""

    def __init__(self, message: str, *, unit: str | None = None) -> None:
        super().__init__(message)
        self.unit = unit


class ActuatorUnavailableError(ActuatorError):
    """The backend's library is missing, the spec is invalid, or the controller is silent or gone."""


class UnknownUnitError(ActuatorError):
    """The unit is not configured for this actuator, or the controller does not know it."""


class ActuatorProtocolError(ActuatorError):
    """A controller's message does not follow its protocol (a garbled line, a bad payload)."""


class ActuatorTimeoutError(ActuatorError):
    """The unit did not report open in time.

    The actuator has already commanded it locked again where it could and re-read its state:
    ``state`` is that state, or None when it could not be read. The door is never silently
    left in an unknown state.
    """

    def __init__(self, message: str, *, unit: str, state: UnitState | None) -> None:
        super().__init__(message, unit=unit)
        self.state = state


class ActuatorJammedError(ActuatorTimeoutError):
    """The unit reported jammed instead of opening (handled like a timeout: it did not open)."""
