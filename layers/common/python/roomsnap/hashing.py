"""Content addressing: two snapshots share a PDF only if everything they print is the same."""

import hashlib
import json

from roomsnap.models import ReportContent


def canonical_json(value) -> bytes:
    """One byte string per value: sorted keys, no whitespace, UTF-8 as written (a lone surrogate,
    which no valid text holds, as its own three bytes rather than an error)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


def content_hash(content: ReportContent, template_version: str, library_version: str) -> str:
    """SHA-256 over the printed content plus what shapes the bytes: the report template and the
    PDF library. A new layout or ReportLab release therefore never serves an old PDF."""
    payload = {
        "content": content.model_dump(mode="json"),
        "template_version": template_version,
        "library_version": library_version,
    }
    return hashlib.sha256(canonical_json(payload)).hexdigest()
