"""The loopback reader sees a card taken away and tapped again at once as a new tap.

Found by the daemon's tests: with the last transaction's card in the field, a wait for the
next card waits for its removal first; a ``remove()`` followed by ``insert()`` before that
waiting thread woke left the field non-empty when it looked, so it waited on for the whole
``reader.wait`` although :meth:`LoopbackReader.remove` had recorded the field as seen empty.
"""

from __future__ import annotations

import threading

from terminal.readers.base import CardInfo
from terminal.readers.emulated import LoopbackReader


class Card:
    def process_apdu(self, apdu: bytes) -> bytes:
        return b"\x90\x00"


def test_a_remove_and_insert_in_quick_succession_is_a_new_tap() -> None:
    card = Card()
    reader = LoopbackReader(card)
    reader.wait_for_card(0)
    reader.new_transaction()  # that transaction is over: its card must leave the field first
    got: list[CardInfo] = []
    waiter = threading.Thread(target=lambda: got.append(reader.wait_for_card(20)), daemon=True)
    with reader._wake:  # hold the reader's condition: the waiter cannot look at the field
        waiter.start()
        while not reader._waits_pending:
            reader._wake.wait(0.01)
        reader.remove()
        reader.insert(card)  # both before the waiter looks again
    waiter.join(20)
    assert got, "the new tap was not seen"
