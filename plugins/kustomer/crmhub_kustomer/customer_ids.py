"""A bounded, thread-safe memory of Kustomer customer lookups by end user.

``find_open_record`` and then ``create_record`` for the same session both need the end user's
Kustomer customer. Remembering what the first learned saves the second one to three lookups:

* a found customer id is remembered (customer ids are stable; callers forget one when Kustomer
  answers 404 for it, after a merge or a delete);
* a miss is remembered only for the session that looked, and used once: the create that follows
  goes straight to creating the customer. If someone else created the customer in between, Kustomer
  refuses the duplicate and the caller looks up again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

DEFAULT_CAPACITY = 10_000


class CustomerIds:
    def __init__(self, capacity: int = DEFAULT_CAPACITY):
        self._capacity = capacity
        self._ids: OrderedDict[str, str] = OrderedDict()
        self._misses: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            customer_id = self._ids.get(key)
            if customer_id is not None:
                self._ids.move_to_end(key)
            return customer_id

    def remember(self, key: str, customer_id: str) -> None:
        with self._lock:
            self._misses.pop(key, None)
            self._put(self._ids, key, customer_id)

    def forget(self, key: str) -> None:
        with self._lock:
            self._ids.pop(key, None)

    def note_miss(self, key: str, session_id: str) -> None:
        """Every lookup for ``key`` found nobody while handling ``session_id``."""
        with self._lock:
            self._put(self._misses, key, session_id)

    def take_miss(self, key: str, session_id: str) -> bool:
        """Whether ``session_id`` just found nobody for ``key`` (answered once)."""
        with self._lock:
            return self._misses.pop(key, None) == session_id

    def _put(self, store: OrderedDict[str, str], key: str, value: str) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > self._capacity:
            store.popitem(last=False)
