"""The PostgreSQL server of the PostgreSQL tests, and a fresh schema for each test.

The server is started outside the tests — ``bash scripts/postgres-test-server.sh start`` prints
its URL, and ``.ci/run`` does so before the tests — and named by ``CRMHUB_TEST_POSTGRES_URL``.
Without it (or without psycopg) the PostgreSQL tests skip, saying why; under CI (``CI=true``) they
fail instead, because CI must run them.

Each test gets a schema of its own, selected through the URL's libpq ``options``
(``search_path``), so the code under test needs nothing but the URL; the schema is dropped
afterwards. The URL also bounds every lock wait (``lock_timeout``), so that a locking bug fails
a test instead of hanging it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest

URL_VARIABLE = "CRMHUB_TEST_POSTGRES_URL"
LOCK_TIMEOUT = "60s"


def server_url() -> str:
    """The test server's URL; skips (or, under CI, fails) the test when there is none."""
    url = os.environ.get(URL_VARIABLE)
    if not url:
        _unavailable(f"{URL_VARIABLE} is not set: start a server with `bash scripts/postgres-test-server.sh start`")
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError:
        _unavailable("psycopg is not installed: pip install -e '.[postgres]'")
    return url


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the PostgreSQL tests must run under CI, but {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests: {reason}")


def with_settings(url: str, **settings: str) -> str:
    """``url`` with server settings added to its libpq ``options`` (``-csearch_path=…``)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    given = " ".join(f"-c{name}={value}" for name, value in settings.items())
    query["options"] = f"{query['options']} {given}" if query.get("options") else given
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


@contextmanager
def fresh_schema(**settings: str) -> Iterator[str]:
    """A new, empty schema; yields the URL that selects it (with ``settings`` too), drops it on exit."""
    import psycopg
    from psycopg import sql

    url = server_url()
    name = f"crmhub_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield with_settings(url, search_path=name, lock_timeout=LOCK_TIMEOUT, **settings)
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))

