"""The emulator's one HTTP server on 127.0.0.1:PORT: it owns requests, responses and dispatch.

What AWS serves on several domains (the HTTP API, AppSync Events, the identity provider, CloudFront's
bucket) is served here on one origin, by handlers tried in order: each answers the requests that are
its own and passes (None) on the rest. A WebSocket upgrade is handed over, socket and all, to the
handler that registered its request line.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger("template_emulator.front")


@dataclass
class Request:
    method: str
    target: str  # path and query, as sent
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def joined_headers(self) -> dict[str, str]:
        """Lowercased names; repeated headers joined by commas, as API Gateway passes them."""
        joined: dict[str, str] = {}
        for name, value in self.headers:
            name = name.lower()
            joined[name] = f"{joined[name]},{value}" if name in joined else value
        return joined


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @classmethod
    def json(cls, status: int, payload: Any, *headers: tuple[str, str]) -> Response:
        return cls(status, [("content-type", "application/json"), *headers], json.dumps(payload).encode())


# A handler: its response to the request, or None when the request is not its own.
Handler = Callable[[Request], Response | None]
# Runs an upgraded connection (a WebSocket) to its end.
Upgrade = Callable[[socket.socket, Any], None]


def not_found(_: Request) -> Response:
    return Response.json(404, {"message": "Not Found"})


class FrontServer:
    """Bound at once (so the port, and with it the local issuer, is known before the rest is set up);
    requests wait in the listen backlog until serve()."""

    def __init__(self, port: int = 3000):
        self._server = _Server(port, self)
        self.port: int = self._server.server_address[1]
        self.authority = f"127.0.0.1:{self.port}"
        self._handlers: list[Handler] = []
        self._fallback: Handler = not_found
        self._upgrades: dict[bytes, Upgrade] = {}
        self._thread: threading.Thread | None = None

    def serve(
        self, handlers: list[Handler], fallback: Handler = not_found, upgrades: Mapping[bytes, Upgrade] | None = None
    ) -> None:
        self._handlers, self._fallback, self._upgrades = handlers, fallback, dict(upgrades or {})
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def dispatch(self, request: Request) -> Response:
        for handler in self._handlers:
            if (response := handler(request)) is not None:
                return response
        response = self._fallback(request)
        assert response is not None, "the fallback handler answers every request"
        return response

    def upgrade_for(self, connection: socket.socket) -> Upgrade | None:
        """The handler of an upgrade request (its first bytes tell), if the connection opens with one."""
        for request_line, upgrade in self._upgrades.items():
            if _peek(connection, request_line):
                return upgrade
        return None

    def stop(self) -> None:
        if self._thread:
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, front: FrontServer):
        super().__init__(("127.0.0.1", port), _RequestHandler)
        self.front = front


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on, the body waits for the
    # client's delayed ACK (~40 ms a request).
    disable_nagle_algorithm = True
    server: _Server

    def handle(self) -> None:
        if upgrade := self.server.front.upgrade_for(self.connection):
            upgrade(self.connection, self.client_address)  # runs the WebSocket to its end
            self.close_connection = True
            return
        super().handle()

    def _handle(self) -> None:
        started = time.monotonic()
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        request = Request(self.command, self.path, list(self.headers.items()), body, self.client_address[0])
        response = self.server.front.dispatch(request)
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        try:
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
            log.info("%s %s: the client left before the answer", self.command, self.path)
            self.close_connection = True
            return
        log.info("%s %s %d %.1f ms", self.command, self.path, response.status, (time.monotonic() - started) * 1000)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_TRACE = do_QUERY = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass  # _handle logs one line per request


def _peek(sock: socket.socket, prefix: bytes) -> bool:
    """Whether the connection's first bytes are `prefix`, leaving them unread."""
    try:
        return sock.recv(len(prefix), socket.MSG_PEEK | socket.MSG_WAITALL) == prefix
    except OSError:
        return False
