"""crmhub.http: Retry-After, requests exceptions → crmhub errors, vendor text fit for a message."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from crmhub.core.errors import PermanentCrmError, TransientCrmError, UnknownOutcomeError
from crmhub.http import (
    ERROR_TEXT_LIMIT,
    error_for_no_answer,
    json_or_none,
    nothing_was_sent,
    one_line,
    retry_after_seconds,
)

NOW = datetime(2026, 11, 25, 9, 30, 5, tzinfo=timezone.utc)
URL = "/api/v2/tickets.json"


# --- Retry-After -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30", 30.0),
        ("0", 0.0),
        (" 2.5 ", 2.5),
        ("-5", 0.0),  # a negative wait can only mean "now"
    ],
)
def test_retry_after_as_delta_seconds(value: str, seconds: float) -> None:
    assert retry_after_seconds(value, NOW) == seconds


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("Wed, 25 Nov 2026 09:31:05 GMT", 60.0),
        ("Wed, 25 Nov 2026 10:31:05 +0100", 60.0),  # another zone, the same instant
        ("Wed, 25 Nov 2026 09:30:35 -0000", 30.0),  # no zone information: read as UTC
    ],
)
def test_retry_after_as_an_http_date_counts_from_now(value: str, seconds: float) -> None:
    assert retry_after_seconds(value, now=NOW) == seconds


def test_retry_after_a_date_in_the_past_means_now() -> None:
    assert retry_after_seconds("Wed, 25 Nov 2026 09:00:00 GMT", now=NOW) == 0.0


def test_retry_after_counts_from_the_current_time_by_default() -> None:
    in_an_hour = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 0.0 < retry_after_seconds(in_an_hour) <= 3600.0
    assert retry_after_seconds("Sun, 06 Nov 1994 08:49:37 GMT") == 0.0


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "soon", "inf", "nan", "-inf", "Wed, 31 Foo 2026 09:31:05 GMT", "30 seconds"],
)
def test_retry_after_that_is_absent_or_garbage_gives_no_wait(value: str | None) -> None:
    assert retry_after_seconds(value, NOW) is None


# --- requests exceptions -----------------------------------------------------------------------------


def refused() -> requests.exceptions.ConnectionError:
    cause = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    return requests.exceptions.ConnectionError(MaxRetryError(None, URL, cause))


def name_not_resolved() -> requests.exceptions.ConnectionError:
    cause = NameResolutionError("acme.zendesk.com", None, socket.gaierror(-2, "Name or service not known"))
    return requests.exceptions.ConnectionError(MaxRetryError(None, URL, cause))


def refused_without_max_retry() -> requests.exceptions.ConnectionError:
    return requests.exceptions.ConnectionError(NewConnectionError(None, "Connection refused"))


def refused_as_the_cause() -> requests.exceptions.ConnectionError:
    try:
        try:
            raise NewConnectionError(None, "Connection refused")
        except NewConnectionError as cause:
            raise requests.exceptions.ConnectionError("cannot connect") from cause
    except requests.exceptions.ConnectionError as error:
        return error


def connect_timeout() -> requests.exceptions.ConnectTimeout:
    return requests.exceptions.ConnectTimeout(MaxRetryError(None, URL, ConnectTimeoutError(None, "timed out")))


def read_timeout() -> requests.exceptions.ReadTimeout:
    return requests.exceptions.ReadTimeout(ReadTimeoutError(None, URL, "Read timed out. (read timeout=10)"))


def dropped() -> requests.exceptions.ConnectionError:
    reset = ConnectionResetError(104, "Connection reset by peer")
    return requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", reset))


NOTHING_SENT = {
    "refused": refused,
    "name not resolved": name_not_resolved,
    "refused, not wrapped": refused_without_max_retry,
    "refused, as the cause": refused_as_the_cause,
    "connect timeout": connect_timeout,
}
MAYBE_SENT = {
    "read timeout": read_timeout,
    "dropped connection": dropped,
    "dropped, text only": lambda: requests.exceptions.ConnectionError("Connection aborted.", "RemoteDisconnected"),
    "broken chunked answer": lambda: requests.exceptions.ChunkedEncodingError(ProtocolError("Response ended")),
    "TLS failure": lambda: requests.exceptions.SSLError("certificate verify failed"),
    "too many redirects": lambda: requests.exceptions.TooManyRedirects("Exceeded 30 redirects."),
}
INVALID_URL = {
    "invalid URL": lambda: requests.exceptions.InvalidURL("Invalid URL 'https://': No host supplied"),
    "missing schema": lambda: requests.exceptions.MissingSchema("Invalid URL 'acme.example.com/api'"),
    "invalid schema": lambda: requests.exceptions.InvalidSchema("No connection adapters were found for 'ftp://x'"),
}


@pytest.mark.parametrize("make", NOTHING_SENT.values(), ids=NOTHING_SENT.keys())
@pytest.mark.parametrize("may_have_taken_effect", [True, False])
def test_nothing_sent_is_transient_even_for_a_write(make, may_have_taken_effect: bool) -> None:
    error = make()
    assert nothing_was_sent(error)
    mapped = error_for_no_answer(
        error, crm="Acme", action="create a ticket", may_have_taken_effect=may_have_taken_effect
    )
    assert type(mapped) is TransientCrmError
    assert "nothing was sent" in str(mapped) and "Acme" in str(mapped) and "create a ticket" in str(mapped)


@pytest.mark.parametrize("make", MAYBE_SENT.values(), ids=MAYBE_SENT.keys())
def test_no_answer_after_sending_is_an_unknown_outcome_for_a_write_and_transient_for_a_read(make) -> None:
    error = make()
    assert not nothing_was_sent(error)
    write = error_for_no_answer(error, crm="Acme", action="create a ticket", may_have_taken_effect=True)
    read = error_for_no_answer(error, crm="Acme", action="list tickets", may_have_taken_effect=False)
    assert type(write) is UnknownOutcomeError and "may or may not" in str(write)
    assert type(read) is TransientCrmError
    assert type(error).__name__ in str(read)


@pytest.mark.parametrize("make", INVALID_URL.values(), ids=INVALID_URL.keys())
@pytest.mark.parametrize("may_have_taken_effect", [True, False])
def test_an_invalid_url_is_permanent(make, may_have_taken_effect: bool) -> None:
    error = error_for_no_answer(make(), crm="Acme", action="list tickets", may_have_taken_effect=may_have_taken_effect)
    assert type(error) is PermanentCrmError and "base_url" in str(error)


def test_the_message_names_the_exception_class_but_not_its_text() -> None:
    error = requests.exceptions.ReadTimeout(f"HTTPSConnectionPool: Read timed out. url={URL}?email=ada@example.com")
    message = str(error_for_no_answer(error, crm="Acme", action="look up users", may_have_taken_effect=False))
    assert "ReadTimeout" in message and "ada@example.com" not in message


def test_a_cycle_of_causes_ends_the_search() -> None:
    first = requests.exceptions.ConnectionError("first")
    second = ProtocolError("second")
    first.__context__, second.__context__ = second, first
    assert not nothing_was_sent(first)


@pytest.fixture
def closed_port() -> int:
    """A local port that nothing listens on: connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def hanging_up_server() -> Iterator[str]:
    """A local server that reads one request and closes the connection without answering."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(10)

    def serve_once() -> None:
        try:
            connection, _ = server.accept()
        except OSError:
            return
        with connection:
            connection.recv(65536)

    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/api/v2/tickets.json"
    server.close()
    thread.join(timeout=10)


def test_a_real_refused_connection_is_recognised(closed_port: int) -> None:
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        requests.post(f"http://127.0.0.1:{closed_port}/api/v2/tickets.json", json={}, timeout=10)
    assert nothing_was_sent(caught.value)
    mapped = error_for_no_answer(caught.value, crm="Acme", action="create a ticket", may_have_taken_effect=True)
    assert type(mapped) is TransientCrmError


def test_a_real_connection_dropped_after_sending_is_an_unknown_outcome(hanging_up_server: str) -> None:
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        requests.post(hanging_up_server, json={"ticket": {}}, timeout=10)
    assert not nothing_was_sent(caught.value)
    mapped = error_for_no_answer(caught.value, crm="Acme", action="create a ticket", may_have_taken_effect=True)
    assert type(mapped) is UnknownOutcomeError


# --- vendor text -------------------------------------------------------------------------------------


def answer(body: str) -> requests.Response:
    response = requests.Response()
    response.status_code = 400
    response._content = body.encode()
    return response


def test_json_or_none_reads_json_and_gives_none_for_anything_else() -> None:
    assert json_or_none(answer('{"error": "RecordInvalid"}')) == {"error": "RecordInvalid"}
    assert json_or_none(answer("[1, 2]")) == [1, 2]
    assert json_or_none(answer("<html><h1>Bad gateway</h1></html>")) is None
    assert json_or_none(answer("")) is None


def test_one_line_folds_white_space() -> None:
    assert one_line("<html>\n  <h1>Bad \t gateway</h1>\r\n</html>\n") == "<html> <h1>Bad gateway</h1> </html>"
    assert one_line(" \n ") == ""


def test_one_line_cuts_to_the_limit() -> None:
    assert len(one_line("x" * 1000)) == ERROR_TEXT_LIMIT
    assert one_line("abcdef", limit=3) == "abc"


def test_one_line_masks_secrets_before_cutting() -> None:
    text = "token s3cr3t-value is not valid; neither is other-key"
    assert one_line(text, secrets=["s3cr3t-value", "other-key"]) == "token *** is not valid; neither is ***"
    assert one_line("x" * 8 + "s3cr3t-value", limit=12, secrets=["s3cr3t-value"]) == "x" * 8 + "***"


def test_one_line_ignores_empty_secrets() -> None:
    assert one_line("nothing to hide", secrets=["", None]) == "nothing to hide"
