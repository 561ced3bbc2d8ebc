"""Static hosting: a built web app served as the template's CloudFront distribution serves it from its
bucket (the response headers policy's security headers; the paths it sends to the HTTP API left to
it), and the app's /config.json."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

from template_emulator.front import Request, Response
from template_emulator.template import Template

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
    return headers  # (Strict-Transport-Security means nothing over the emulator's plain HTTP)


def record_distribution_attributes(template: Template, authority: str) -> None:
    """Every CloudFront distribution of the template is the emulator's front server (host:port), which
    serves its origins: recorded before anything resolves `DomainName` (environment variables)."""
    for logical_id in template.resources_of_type("AWS::CloudFront::Distribution"):
        template.record(logical_id, DomainName=authority)


def api_path_patterns(template: Template) -> list[str]:
    """The path patterns of the CloudFront cache behaviours whose origin is an HTTP API of the template."""
    http_apis = set(template.resources_of_type("AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api"))
    patterns = []
    for distribution in template.resources_of_type("AWS::CloudFront::Distribution").values():
        config = distribution.get("Properties", {}).get("DistributionConfig", {})
        api_origins = {
            origin.get("Id") for origin in config.get("Origins", []) if template.references(origin) & http_apis
        }
        patterns += [
            behaviour["PathPattern"]
            for behaviour in config.get("CacheBehaviors", [])
            if behaviour.get("TargetOriginId") in api_origins
        ]
    return patterns


class StaticSite:
    """Files of `root` by path, index.html for any other path without a file extension (the app's own routes,
    so a reload of /rooms/<id> works), and /config.json: the runtime configuration the app reads (in AWS, a
    deploy step writes the same file into the web bucket). Paths that match `api_paths` (CloudFront
    patterns such as /api/*) are not its own."""

    def __init__(
        self, root: Path, config: dict[str, Any], headers: list[tuple[str, str]], api_paths: list[str] | None = None
    ):
        self.root = root.resolve()
        self.config = json.dumps(config).encode()
        self.headers = headers
        self.api_paths = api_paths or []

    def __call__(self, request: Request) -> Response | None:
        path = request.path
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in self.api_paths):
            return None
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
