"""The pay mode: one payment per tap, online authorization, reversal when the answer is lost."""

from terminal.modes.pay.payment import PaymentResult, pay, reverse_authorization

__all__ = ["PaymentResult", "pay", "reverse_authorization"]
