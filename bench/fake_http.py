"""A small threaded HTTP server on 127.0.0.1 that plays a CRM's REST API for the benchmarks.

A :class:`FakeApp` answers requests from a route table (method, path pattern → handler) and keeps
its records in memory; :class:`FakeServer` serves one app, waits ``latency`` seconds before each
answer (the CRM's response time) and logs every request it served, so that calls can be counted
exactly. HTTP/1.1 keep-alive and ``TCP_NODELAY``, as a real API behind a load balancer would have,
so that a client reusing its connection pays the latency and nothing else.

Two control paths, never delayed and never logged, serve a server running in another process
(``python -m bench.fake_http NAME``): ``GET /_bench/calls`` (the log) and ``POST /_bench/reset``.
"""

from __future__ import annotations

import json
import re
import select
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

CONTROL_PREFIX = "/_bench/"
START_TIMEOUT = 30.0


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Answer:
    status: int
    body: Any = None  # JSON-ready; None for an empty body
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[..., Answer]


class FakeApp:
    """A CRM's API in memory. Subclasses register routes with :meth:`route` in ``__init__``;
    handlers get the :class:`Request` and the pattern's named groups (URL-decoded)."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.lock = threading.RLock()  # handlers run on the server's threads

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, re.compile(pattern + r"\Z"), handler))

    def handle(self, request: Request) -> Answer:
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                with self.lock:
                    return handler(request, **{k: unquote(v) for k, v in match.groupdict().items()})
        return Answer(404, {"error": "no such route in the fake", "path": request.path})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # several workers connecting at once


class FakeServer:
    """Serves ``app`` on 127.0.0.1 (a free port) from a background thread."""

    def __init__(self, app: FakeApp, latency: float = 0.0):
        self.app = app
        self.latency = latency
        self._calls: list[tuple[Request, float]] = []
        self._calls_lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def calls(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request served since the last :meth:`reset`, in order."""
        with self._calls_lock:
            return [(request.method, request.path) for request, _ in self._calls]

    def log(self) -> list[dict[str, Any]]:
        """Every request served since the last :meth:`reset`, in order, as JSON-ready dicts: enough
        to send the same requests again (method, path, query, body, the headers that matter)."""
        with self._calls_lock:
            return [_logged(request, at) for request, at in self._calls]

    def reset(self) -> None:
        with self._calls_lock:
            self._calls.clear()

    def __enter__(self) -> "FakeServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _answer(self, request: Request) -> Answer:
        if request.path.startswith(CONTROL_PREFIX):
            return self._control(request)
        if self.latency:
            time.sleep(self.latency)
        answer = self.app.handle(request)
        with self._calls_lock:
            self._calls.append((request, time.monotonic()))
        return answer

    def _control(self, request: Request) -> Answer:
        if request.method == "GET" and request.path == CONTROL_PREFIX + "calls":
            return Answer(200, {"calls": self.log()})
        if request.method == "POST" and request.path == CONTROL_PREFIX + "reset":
            self.reset()
            return Answer(200, {})
        return Answer(404, {})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body: Any = None
                if raw:
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body = {key: values[-1] for key, values in parse_qs(raw.decode()).items()}
                query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
                request = Request(self.command, parts.path, query, body, dict(self.headers.items()))
                answer = server._answer(request)
                payload = b"" if answer.body is None else json.dumps(answer.body).encode()
                head = [f"HTTP/1.1 {answer.status} {self.responses.get(answer.status, ('',))[0]}"]
                headers = {"Content-Type": "application/json; charset=utf-8", **answer.headers}
                headers["Content-Length"] = str(len(payload))
                head += [f"{name}: {value}" for name, value in headers.items()]
                self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
                pass

        return _Handler


REPLAYED_HEADERS = ("Idempotency-Key", "Sforce-Auto-Assign", "Content-Type")


def _logged(request: Request, at: float) -> dict[str, Any]:
    headers = {name: request.headers[name] for name in REPLAYED_HEADERS if name in request.headers}
    return {"method": request.method, "path": request.path, "query": request.query, "body": request.body,
            "headers": headers, "at": at}


# --- a server in its own process ---------------------------------------------------------------


def _app_by_name(name: str) -> FakeApp:
    from bench.crms import CRMS

    return CRMS[name].App()


@contextmanager
def server_process(name: str, latency: float) -> Iterator["RemoteServer"]:
    """Serve fake CRM ``name`` from a child process, so that its work never competes with the
    measured client for the GIL. Yields a handle with the URL and the call log."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_http", name, str(latency)],
        cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], START_TIMEOUT)
        line = child.stdout.readline().strip() if ready else ""
        if not line.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the fake {name} server did not start (said {line!r})")
        yield RemoteServer(line)
    finally:
        assert child.stdin is not None
        child.stdin.close()  # the child serves until its stdin closes
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=10)


@dataclass
class RemoteServer:
    """A fake CRM served by :func:`server_process`."""

    url: str

    def log(self) -> list[dict[str, Any]]:
        """What :meth:`FakeServer.log` says, fetched from the child process."""
        import requests

        return requests.get(self.url + CONTROL_PREFIX + "calls", timeout=30).json()["calls"]

    def reset(self) -> None:
        import requests

        requests.post(self.url + CONTROL_PREFIX + "reset", timeout=10).raise_for_status()


def main(argv: list[str]) -> None:
    """``python -m bench.fake_http NAME LATENCY``: print the URL, serve until stdin closes."""
    name, latency = argv[0], float(argv[1])
    with FakeServer(_app_by_name(name), latency) as server:
        print(server.url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main(sys.argv[1:])
