"""Tap! mode: the terminal presents a dynamic NFC Forum Type 4 Tag; a phone wallet pays it.

- :mod:`.provider`  the tag, found through the ``tap.tags`` entry points (never an import of
  card_emulation)
- :mod:`.payment`   one payment: the checkout session, a fresh link per tap, the result by
  long polling, journalled as a payment; :func:`resume` after an outage
- :mod:`.cli`       ``tap-terminal tag pay AMOUNT``
"""

from terminal.modes.tag.payment import Checkout, TagResult, resume, tag_pay
from terminal.modes.tag.provider import TAG_PROVIDERS, PresentedTag, open_tag

__all__ = [
    "TAG_PROVIDERS",
    "Checkout",
    "PresentedTag",
    "TagResult",
    "open_tag",
    "resume",
    "tag_pay",
]
