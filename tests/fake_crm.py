"""A fake Zendesk for reliability tests: the API subset the ``crmhub_zendesk`` plugin uses, kept in
memory, with faults a test programs.

It listens on 127.0.0.1, port 0 (a free one); point the plugin at it with ``base_url``. Requests:

- ``GET /api/v2/users/search.json?external_id=|query=phone:…|query=email:…``, ``POST /api/v2/users/create_or_update.json``;
- ``GET /api/v2/users/{id}/tickets/requested.json`` (newest first, ``metric_sets`` sideloaded);
- ``POST /api/v2/tickets.json`` honouring ``Idempotency-Key`` (the same key gives back the same
  ticket), ``GET /api/v2/tickets.json?external_id=``, ``GET``/``PUT /api/v2/tickets/{id}.json``.

Faults (:meth:`FakeZendesk.fault`), each for the next ``times`` requests that match
``"METHOD /path"`` (a prefix of the path without query, e.g. ``"POST /api/v2/tickets.json"``):

- ``rate_limit``: 429 with ``Retry-After``; ``unavailable``: 503; ``server_error``: 500;
  ``unauthorized``: 401;
- ``delay``: answer normally after ``seconds`` (past the client's timeout, the client gives up);
- ``commit_then_drop``: do the work, then close the socket without answering;
- ``hold``: do nothing until :meth:`FakeZendesk.release` (or ``seconds``); ``arrived`` is set when
  the request comes in, so a test can act (kill the client) at that point. Released with
  ``commit=True`` the request is then carried out; it is never answered;
- ``commit_then_hold``: do the work, set ``arrived``, then hold (unanswered) until released.

``after=N`` lets the first N matching requests through before the fault applies.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FAULT_KINDS = {
    "rate_limit", "unavailable", "server_error", "unauthorized", "delay", "commit_then_drop", "hold", "commit_then_hold",
}
API = "/api/v2"


@dataclass
class Fault:
    kind: str
    match: str
    times: int
    after: int = 0
    retry_after: int = 1
    seconds: float = 0.0
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    commit_on_release: bool = False


class FakeZendesk:
    """The server and its data. Use as a context manager; ``base_url`` for the plugin settings."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tickets: dict[int, dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self._by_key: dict[str, int] = {}
        self._next_id = 1000
        self._faults: list[Fault] = []
        self.requests: Counter[str] = Counter()  # "METHOD /path" → count
        self.faults_injected: Counter[str] = Counter()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-zendesk", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "FakeZendesk":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for fault in self._faults:
            fault.released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    # --- programming faults ---------------------------------------------------------------------

    def fault(self, kind: str, match: str = "POST /api/v2/tickets.json", *, times: int = 1, after: int = 0,
              retry_after: int = 1, seconds: float = 0.0) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}")
        planned = Fault(kind, match, times, after=after, retry_after=retry_after, seconds=seconds)
        with self._lock:
            self._faults.append(planned)
        return planned

    def release(self, fault: Fault, *, commit: bool) -> None:
        """Let a held request go: carried out (never answered) if ``commit``, else dropped."""
        fault.commit_on_release = commit
        fault.released.set()

    def heal(self) -> None:
        with self._lock:
            for fault in self._faults:
                fault.released.set()
            self._faults.clear()

    def _take_fault(self, route: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and route.startswith(fault.match):
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    fault.times -= 1
                    self.faults_injected[fault.kind] += 1
                    return fault
        return None

    # --- the data -------------------------------------------------------------------------------

    def tickets_of_session(self, session_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [t for t in self.tickets.values() if t.get("external_id") == session_id]

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def handle(self, method: str, path: str, query: dict[str, str], body: dict[str, Any],
               headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """One API call on the data: (status, JSON body)."""
        with self._lock:
            return self._route(method, path.removeprefix(API), query, body, headers)

    def _route(self, method: str, path: str, query: dict[str, str], body: dict[str, Any],
               headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if (method, path) == ("GET", "/users/search.json"):
            return 200, {"users": self._search_users(query), "next_page": None}
        if (method, path) == ("POST", "/users/create_or_update.json"):
            return 200, {"user": self._create_or_update_user(body.get("user") or {})}
        if method == "GET" and len(parts) == 4 and parts[0] == "users" and parts[2:] == ["tickets", "requested.json"]:
            mine = [t for t in self.tickets.values() if t.get("requester_id") == int(parts[1])]
            mine.sort(key=lambda t: t["id"], reverse=True)
            return 200, {"tickets": mine, "metric_sets": [], "next_page": None}
        if (method, path) == ("POST", "/tickets.json"):
            return 201, {"ticket": self._create_ticket(body.get("ticket") or {}, headers.get("idempotency-key"))}
        if (method, path) == ("GET", "/tickets.json"):
            found = [t for t in self.tickets.values() if t.get("external_id") == query.get("external_id")]
            return 200, {"tickets": found, "metric_sets": [], "next_page": None}
        if len(parts) == 2 and parts[0] == "tickets" and parts[1].endswith(".json"):
            ticket = self.tickets.get(int(parts[1].removesuffix(".json")))
            if ticket is None:
                return 404, {"error": "RecordNotFound", "description": "Not found"}
            if method == "GET":
                return 200, {"ticket": ticket, "metric_sets": []}
            if method == "PUT":
                return 200, {"ticket": self._update_ticket(ticket, body.get("ticket") or {})}
        return 404, {"error": "InvalidEndpoint", "description": f"{method} {path} is not faked"}

    def _search_users(self, query: dict[str, str]) -> list[dict[str, Any]]:
        if "external_id" in query:
            return [u for u in self.users.values() if u.get("external_id") == query["external_id"]]
        kind, _, value = query.get("query", "").partition(":")
        return [u for u in self.users.values() if str(u.get(kind) or "").lower() == value.lower()]

    def _create_or_update_user(self, user: dict[str, Any]) -> dict[str, Any]:
        for existing in self.users.values():
            if user.get("external_id") and existing.get("external_id") == user["external_id"]:
                existing.update(user)
                return existing
        made = {**user, "id": self._new_id()}
        self.users[made["id"]] = made
        return made

    def _create_ticket(self, ticket: dict[str, Any], key: str | None) -> dict[str, Any]:
        if key and key in self._by_key:
            return self.tickets[self._by_key[key]]
        now = _now()
        made = {**ticket, "id": self._new_id(), "status": "new", "created_at": now, "updated_at": now}
        made.pop("comment", None)
        made["comments"] = [ticket.get("comment")]
        self.tickets[made["id"]] = made
        if key:
            self._by_key[key] = made["id"]
        return made

    def _update_ticket(self, ticket: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
        if "comment" in update:
            ticket["comments"].append(update["comment"])
        for key in ("tags", "status"):
            if key in update:
                ticket[key] = update[key]
        ticket["updated_at"] = _now()
        return ticket


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _handler_for(fake: FakeZendesk) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
            pass

        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def do_PUT(self) -> None:  # noqa: N802
            self._serve("PUT")

        def _serve(self, method: str) -> None:
            split = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(split.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            headers = {k.lower(): v for k, v in self.headers.items()}
            route = f"{method} {split.path}"
            fake.requests[route] += 1
            fault = fake._take_fault(route)
            if fault is None:
                self._answer(*fake.handle(method, split.path, query, body, headers))
                return
            if fault.kind in ("rate_limit", "unavailable", "server_error", "unauthorized"):
                status = {"rate_limit": 429, "unavailable": 503, "server_error": 500, "unauthorized": 401}[fault.kind]
                extra = {"Retry-After": str(fault.retry_after)} if status in (429, 503) else {}
                self._answer(status, {"error": fault.kind}, extra)
            elif fault.kind == "delay":
                fault.released.wait(fault.seconds)
                self._answer(*fake.handle(method, split.path, query, body, headers))
            elif fault.kind == "commit_then_drop":
                fake.handle(method, split.path, query, body, headers)
                self._drop()
            elif fault.kind == "commit_then_hold":
                fake.handle(method, split.path, query, body, headers)
                fault.arrived.set()
                fault.released.wait(fault.seconds or None)
                self._drop()
            else:  # hold
                fault.arrived.set()
                fault.released.wait(fault.seconds or None)
                if fault.commit_on_release:
                    fake.handle(method, split.path, query, body, headers)
                self._drop()

        def _answer(self, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up (a timeout test): nothing to answer to
                self.close_connection = True

        def _drop(self) -> None:
            self.close_connection = True
            self.connection.close()

    return Handler
