"""Serves the built web app (web/dist) as CloudFront serves it from the web bucket, and its /config.json."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

from infra.http_api import Request, Response

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}
# Vite names what it puts in assets/ by content hash: a changed file is a new name, so it can be kept forever.
IMMUTABLE = "public, max-age=31536000, immutable"


def runtime_config(
    authority: str, client_id: str, admin_group: str, live_channel: tuple[str, str] | None = None
) -> dict[str, Any]:
    """What the app reads at /config.json: served by the local stack, written by scripts/publish_web.py.
    `live_channel` is the Events API's (HTTP domain, realtime URL); without one the app polls."""
    config: dict[str, Any] = {"oidc": {"authority": authority, "client_id": client_id}, "admin_group": admin_group}
    if live_channel:
        config["events"] = {"http": live_channel[0], "realtime": live_channel[1]}
    return config


def security_headers(policy: dict[str, Any]) -> list[tuple[str, str]]:
    """The headers an AWS::CloudFront::ResponseHeadersPolicy's SecurityHeadersConfig adds."""
    config = policy.get("ResponseHeadersPolicyConfig", {}).get("SecurityHeadersConfig", {})
    headers = []
    if csp := config.get("ContentSecurityPolicy"):
        headers.append(("content-security-policy", " ".join(csp["ContentSecurityPolicy"].split())))
    if "ContentTypeOptions" in config:
        headers.append(("x-content-type-options", "nosniff"))
    if frame := config.get("FrameOptions"):
        headers.append(("x-frame-options", frame["FrameOption"]))
    if referrer := config.get("ReferrerPolicy"):
        headers.append(("referrer-policy", referrer["ReferrerPolicy"]))
    return headers  # (Strict-Transport-Security means nothing over the local stack's plain HTTP)


class WebApp:
    """Files of `root` by path, index.html for any other path without a file extension (the app's own routes,
    so a reload of /rooms/<id> works), and /config.json: the runtime configuration the app reads (in AWS, a
    deploy step writes the same file into the web bucket)."""

    def __init__(self, root: Path, config: dict[str, Any], headers: list[tuple[str, str]]):
        self.root = root.resolve()
        self.config = json.dumps(config).encode()
        self.headers = headers

    def __call__(self, request: Request, path: str) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response(405, [("allow", "GET, HEAD"), ("content-type", "text/plain")], b"Method Not Allowed")
        if path == "/config.json":
            return Response(200, [("content-type", "application/json"), ("cache-control", "no-cache")], self.config)
        file = self._file(path)
        if file is None and not PurePosixPath(path).suffix:
            file = self.root / "index.html"
        if file is None or not file.is_file():
            return Response(404, [("content-type", "text/plain")], b"Not Found")
        headers = [
            ("content-type", CONTENT_TYPES.get(file.suffix, "application/octet-stream")),
            ("cache-control", IMMUTABLE if file.parent.name == "assets" else "no-cache"),
            *self.headers,
        ]
        return Response(200, headers, file.read_bytes())

    def _file(self, path: str) -> Path | None:
        """The file at this URL path, if there is one inside root (no way out with .. or encoded slashes)."""
        relative = unquote(path).lstrip("/") or "index.html"
        file = (self.root / relative).resolve()
        return file if file.is_relative_to(self.root) and file.is_file() else None
