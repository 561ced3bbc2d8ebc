"""One HTTPS request to a checked address, and nothing the receiver could turn into another.

The connection goes to the address the SSRF check approved, with the host's name as TLS server
name (SNI), as the name the certificate must match and as Host header, so a DNS answer that
changes after the check cannot move it. urllib3's pools read no proxy settings from the
environment, redirects are returned rather than followed, and only the first kilobyte of an
answer is read. Errors come back as a short text for the delivery log, never raised."""

import time
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, SSLError, TimeoutError

from roomsnap.ssrf import Target
from roomsnap.webhooks import RESPONSE_BODY_BYTES


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str | None
    duration_ms: float
    body: str = ""
    retry_after: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class HttpSender:
    def __init__(self, timeout_s: float, ca_certs: str | None = None):
        self.timeout = urllib3.Timeout(total=timeout_s)
        self.timeout_s = timeout_s
        self.ca_certs = ca_certs  # None: the system's trust store

    def post(self, target: Target, body: str, headers: dict[str, str]) -> Answer:
        started = time.monotonic()
        pool = self._pool(target)
        try:
            response = pool.urlopen(
                "POST",
                target.path,
                body=body.encode(),
                headers={**headers, "Host": target.host_header},
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
            try:
                prefix = response.read(RESPONSE_BODY_BYTES, decode_content=False)
            finally:
                response.release_conn()
            return Answer(
                status_code=response.status,
                error=None,
                duration_ms=_since(started),
                body=prefix.decode("utf-8", "replace"),
                retry_after=response.headers.get("Retry-After"),
            )
        except HTTPError as error:
            return Answer(status_code=None, error=self._describe(error), duration_ms=_since(started))
        finally:
            pool.close()

    def _pool(self, target: Target) -> urllib3.HTTPConnectionPool:
        if target.scheme == "http":  # the local stack's loopback receivers only
            return urllib3.HTTPConnectionPool(target.address, target.port, timeout=self.timeout, retries=False)
        return urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=self.timeout,
            retries=False,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=self.ca_certs,
        )

    def _describe(self, error: HTTPError) -> str:
        if isinstance(error, NewConnectionError):  # first: urllib3 makes it a kind of timeout too
            return f"connection failed: {error}"[:300]
        if isinstance(error, TimeoutError):
            return f"no answer within {self.timeout_s:g} s"
        if isinstance(error, SSLError):
            return f"TLS failed: {error}"[:300]
        return f"request failed: {error}"[:300]


def _since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
