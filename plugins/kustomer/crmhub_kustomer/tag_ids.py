"""A process's memory of the org's Kustomer tag ids, by tag name (thread-safe).

A conversation's ``tags`` attribute holds tag **ids**; crmhub's tags are names. Knowing the ids
lets the tags ride on the conversation create and the reopen ``PATCH`` instead of costing a
request of their own. The org's tags are listed once per process (``GET /v1/tags``) and names
the org lacks are created once (``POST /v1/tags``); what is learned lasts the process, like an
auth token. Two ways out, each for the rest of the process:

* a name Kustomer refused to create is *refused*: it is added by name instead (the conversation
  tags endpoint takes names and finds or creates the tag itself);
* when the tags cannot be listed at all (the API key lacks the role, or the answer is not the
  expected shape), the memory is *unavailable*: every tag is added by name, as before ids were
  used, and the listing is not asked for again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping


class TagIds:
    def __init__(self) -> None:
        self._ids: dict[str, str] = {}
        self._refused: set[str] = set()
        self._listed = False
        self._unavailable = False
        self._lock = threading.Lock()

    def known(self, names: Iterable[str]) -> dict[str, str]:
        """The id of each of ``names`` this process knows (none when unavailable)."""
        with self._lock:
            if self._unavailable:
                return {}
            return {name: self._ids[name] for name in names if name in self._ids}

    def to_learn(self, names: Iterable[str]) -> list[str]:
        """Those of ``names`` whose id is unknown and worth asking Kustomer for."""
        with self._lock:
            if self._unavailable:
                return []
            return [name for name in names if name not in self._ids and name not in self._refused]

    @property
    def listed(self) -> bool:
        """Whether the org's tags were listed since the process started (or since a lost create)."""
        with self._lock:
            return self._listed

    def store_listing(self, ids: Mapping[str, str]) -> None:
        with self._lock:
            self._ids.update(ids)
            self._listed = True

    def remember(self, name: str, tag_id: str) -> None:
        with self._lock:
            self._ids[name] = tag_id

    def list_again(self) -> None:
        """A tag create's answer was lost: it may exist now, so list before creating again."""
        with self._lock:
            self._listed = False

    def refuse(self, name: str) -> None:
        with self._lock:
            self._refused.add(name)

    def make_unavailable(self) -> None:
        with self._lock:
            self._unavailable = True
