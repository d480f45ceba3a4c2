"""Per-key locks: serialise work on one session, or one end user's leaf queue, inside a process."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from types import TracebackType


class KeyedLocks:
    """A lock per key, created on demand and dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Hashable, tuple[threading.Lock, int]] = {}

    def hold(self, key: Hashable) -> "_Hold":
        """A context manager that holds ``key``'s lock for its block."""
        return _Hold(self, key)

    def _join(self, key: Hashable) -> threading.Lock:
        with self._guard:
            lock, users = self._locks.get(key, (None, 0))
            lock = lock or threading.Lock()
            self._locks[key] = (lock, users + 1)
        return lock

    def _leave(self, key: Hashable) -> None:
        with self._guard:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class _Hold:
    """One hold of a key (a class, not a generator: it is taken several times per event)."""

    __slots__ = ("_owner", "_key", "_lock")

    def __init__(self, owner: KeyedLocks, key: Hashable) -> None:
        self._owner = owner
        self._key = key

    def __enter__(self) -> None:
        self._lock = self._owner._join(self._key)
        try:
            self._lock.acquire()
        except BaseException:
            self._owner._leave(self._key)
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._lock.release()
        self._owner._leave(self._key)
