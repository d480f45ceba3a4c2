"""The tag ids of the conversation ``find_open_record`` chose, handed to the write that follows.

The dispatcher asks ``find_open_record`` and then, at once, appends to or reopens the record it
found. The lookup has just read that conversation, tag ids included; handing them over lets the
append skip its tags request when the tags are already there, and lets the reopen ``PATCH``
carry the full tag list (Kustomer replaces the list, so the current ids must be in it). Each
entry is taken once, so a write never acts on what an older lookup saw; without an entry the
write adds its tags by name, which needs no knowledge of the current ones. The store is bounded
so that lookups followed by no write cannot pile up.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

MAX_ENTRIES = 1024


class Handoffs:
    """Conversation id -> its tag ids as last read; thread-safe, each entry read once."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self._entries: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def put(self, conversation_id: str, tag_ids: tuple[str, ...]) -> None:
        with self._lock:
            self._entries[conversation_id] = tag_ids
            self._entries.move_to_end(conversation_id)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def take(self, conversation_id: str) -> tuple[str, ...] | None:
        """The tag ids handed over for the conversation (removing them), or None."""
        with self._lock:
            return self._entries.pop(conversation_id, None)
