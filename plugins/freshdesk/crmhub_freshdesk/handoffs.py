"""What ``find_open_record`` learned, handed to the write that immediately follows it.

The dispatcher asks ``find_open_record`` and then, under the same lock, creates, appends or
reopens. The lookup has already read the end user's contact and the chosen ticket (with its
tags); handing them over saves the write from reading them again. Each entry is taken once, so a
write never acts on what an older lookup saw, and the store is bounded so lookups that led to no
write cannot pile up.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

MAX_ENTRIES = 1024
MISSING = object()
"""What :meth:`Handoffs.take` returns when nothing was handed over."""


class Handoffs:
    """A small thread-safe map whose entries are read once."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def take(self, key: Hashable) -> Any:
        """The value handed over under ``key`` (removing it), or :data:`MISSING`."""
        with self._lock:
            return self._entries.pop(key, MISSING)
