"""What a tap does: the terminal's modes, all on the one tap engine (:mod:`terminal.tap`).

- :mod:`terminal.modes.pay`     a shop's payment terminal (the default mode)
- :mod:`terminal.modes.bike`    a bike dock: a tap-on holds the deposit and unlocks, a tap-off
  or a docked bike ends the ride; offline rides queued
- :mod:`terminal.modes.locker`  a parcel locker: a tap or a pickup code opens the recipient's
  compartments, cash-on-delivery paid in the same tap
- :mod:`terminal.modes.settings`  the ``[terminal] mode`` and the ``[bike]`` / ``[locker]`` tables

Each mode folder holds the mode itself and its ``tap-terminal`` commands (``cli``); the
acquirer calls a mode makes live with the client (:mod:`terminal.online`).
"""
