"""OAuth 2.0 access tokens for the REST API: client-credentials or JWT bearer flow, one per client.

The token is fetched lazily (building a client makes no call) and shared by every thread using the
client. When Salesforce answers 401 ``INVALID_SESSION_ID`` the caller asks for a fresh token naming
the one that failed; under a lock, only the first caller whose token is still the current one
fetches a new token, and everyone else gets that new token: several threads hitting the expiry
together cause one token request, not one each.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests

from crmhub.core.errors import AuthenticationError, PermanentCrmError
from crmhub_salesforce.config import AuthSettings
from crmhub_salesforce.errors import error_for_exception, token_error
from crmhub_salesforce.settings import CLIENT_CREDENTIALS

log = logging.getLogger("crmhub.salesforce")

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME_SECONDS = 180
"""Salesforce accepts a JWT assertion whose ``exp`` is at most three minutes ahead."""


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and the instance it is valid for. The value never appears in a ``repr``."""

    value: str = field(repr=False)
    instance_url: str


class TokenProvider:
    """Gets, caches and refreshes the access token for one set of credentials."""

    def __init__(self, settings: AuthSettings, session: requests.Session):
        self.settings = settings
        self._session = session
        self._lock = threading.Lock()
        self._token: AccessToken | None = None
        self.requests_made = 0
        """How many token requests were sent (tests and diagnostics)."""

    def __repr__(self) -> str:
        return f"TokenProvider(flow={self.settings.flow!r}, login_url={self.settings.login_url!r})"

    def current(self) -> AccessToken:
        """The cached token, fetched on first use."""
        with self._lock:
            if self._token is None:
                self._token = self._request_token()
            return self._token

    def refresh(self, stale: AccessToken) -> AccessToken:
        """A token other than ``stale``: fetched now if ``stale`` is still the cached one, else the
        one another caller already fetched."""
        with self._lock:
            if self._token is None or self._token is stale:
                self._token = self._request_token()
            return self._token

    # --- the token request -------------------------------------------------------------------------

    def _request_token(self) -> AccessToken:
        settings = self.settings
        try:
            response = self._session.post(
                settings.token_url, data=self._grant(), timeout=settings.timeout_seconds,
                headers={"Accept": "application/json"},
            )
        except requests.RequestException as error:
            raise error_for_exception(error, "issue an access token", may_have_applied=False) from None
        finally:
            self.requests_made += 1
        if response.status_code != 200:
            raise token_error(response)
        token = self._parse(response)
        log.info("obtained a Salesforce access token (%s flow) for %s", settings.flow, token.instance_url)
        return token

    def _parse(self, response: requests.Response) -> AccessToken:
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        value = body.get("access_token") if isinstance(body, dict) else None
        instance_url = self.settings.instance_url or (body.get("instance_url") if isinstance(body, dict) else None)
        if not isinstance(value, str) or not value or not isinstance(instance_url, str) or not instance_url:
            raise PermanentCrmError(
                "Salesforce's token response is not the JSON expected (access_token and instance_url)"
            )
        return AccessToken(value=value, instance_url=instance_url.rstrip("/"))

    def _grant(self) -> dict[str, str]:
        settings = self.settings
        if settings.flow == CLIENT_CREDENTIALS:
            return {
                "grant_type": "client_credentials",
                "client_id": settings.client_id,
                "client_secret": settings.client_secret or "",
            }
        return {"grant_type": JWT_BEARER_GRANT, "assertion": self._assertion()}

    def _assertion(self) -> str:
        """The signed JWT (RS256) the bearer flow exchanges for a token."""
        settings = self.settings
        claims = {
            "iss": settings.client_id,
            "sub": settings.username,
            "aud": settings.jwt_audience,
            "exp": int(time.time()) + JWT_LIFETIME_SECONDS,
        }
        try:
            return jwt.encode(claims, self._private_key(), algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as error:
            raise AuthenticationError(
                f"the JWT private key could not sign the assertion ({type(error).__name__}): "
                "expected an RSA private key in PEM form"
            ) from None

    def _private_key(self) -> str:
        settings = self.settings
        if settings.private_key_file is not None:
            try:
                return settings.private_key_file.read_text(encoding="utf-8")
            except OSError as error:
                raise AuthenticationError(
                    f"cannot read the JWT private key file {settings.private_key_file}: {error.strerror}"
                ) from None
        key = settings.private_key or ""
        # A PEM in an environment variable often arrives with its line breaks written as "\n".
        return key.replace("\\n", "\n") if "\\n" in key and "\n" not in key else key
