"""POST /api/v1/verify: what it takes and answers.

The verify function answers it (functions/verify); the API function describes it in the API's one
OpenAPI description (`operation()`), so both read these models and neither imports the other."""

from http import HTTPStatus
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from roomsnap.problem_details import PROBLEM_JSON

VERIFY_PATH = "/api/v1/verify"
# A PDF travels base64-encoded in the Lambda invocation, whose payload is at most 6 MB: 4 MiB of
# PDF is 5.6 MB encoded. Larger files are verified by their SHA-256.
MAX_PDF_BYTES = 4 * 1024 * 1024
SHA256_PATTERN = "^[0-9a-fA-F]{64}$"
Verdict = Literal["issued", "changed_after_signing", "not_issued"]


class VerifyRequest(BaseModel):
    """The SHA-256 of a file of any size (hex), for callers who do not send the file itself."""

    model_config = ConfigDict(extra="forbid")
    sha256: str = Field(pattern=SHA256_PATTERN, description="The file's SHA-256, 64 hex digits")


class IssuanceView(BaseModel):
    snapshot_id: str
    issued_at: str = Field(description="When the service issued these bytes for this snapshot (UTC)")
    room_id: str | None = Field(default=None, description="Only for a caller who is a party of the room")
    room_title: str | None = Field(default=None, description="Only for a caller who is a party of the room")


class SignatureView(BaseModel):
    """The signature found in an uploaded PDF (absent when only a SHA-256 was sent)."""

    intact: bool = Field(description="The signed bytes are those the signature was made over")
    signed_at: str | None = Field(default=None, description="The signing time the signature claims")
    signer: str | None = Field(default=None, description="The signing certificate's subject")
    timestamped: bool = Field(default=False, description="An RFC 3161 timestamp token is embedded (PAdES B-T)")
    changes_after_signing: bool = Field(description="Incremental updates follow the signed revision")


class Verification(BaseModel):
    verdict: Verdict = Field(
        description="issued: this service issued exactly these bytes; changed_after_signing: a file this "
        "service issued, with changes appended after its signature; not_issued: not issued by this service"
    )
    issued: bool = Field(description="Whether this service issued exactly these bytes")
    sha256: str = Field(description="The SHA-256 of the bytes checked")
    message: str
    issued_at: str | None = Field(default=None, description="When the service first issued the bytes it signed")
    snapshot_id: str | None = Field(default=None, description="The snapshot first issued these bytes")
    issuances: list[IssuanceView] = Field(default_factory=list, description="Every snapshot issued them (first 20)")
    signed_revision_sha256: str | None = Field(
        default=None, description="changed_after_signing: the SHA-256 of the signed revision, which was issued"
    )
    signature: SignatureView | None = None


def _problems(*statuses: int) -> dict[str, Any]:
    return {
        str(status): {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def operation() -> tuple[dict[str, Any], dict[str, Any]]:
    """The OpenAPI operation of POST /api/v1/verify and the component schemas it names."""
    schemas: dict[str, Any] = {}
    for model in (VerifyRequest, Verification):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    ratelimit = {"description": "Seconds until the caller's window resets", "schema": {"type": "string"}}
    post = {
        "operationId": "verify",
        "summary": f"POST {VERIFY_PATH}",
        "description": "Whether this deployment issued exactly these bytes, when, and for which snapshot. "
        "Anyone may ask (a bearer token is optional; with one, a party of the room also gets its title). "
        f"Send the PDF itself (application/pdf, at most {MAX_PDF_BYTES} bytes) or its SHA-256 (JSON).",
        "security": [{}, {"bearerAuth": []}],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/VerifyRequest"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary", "maxLength": MAX_PDF_BYTES}},
            },
        },
        "responses": {
            "200": {
                "description": "The verdict",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Verification"}}},
            },
            **_problems(400, 401, 403, 413, 415, 422),
            "429": {**_problems(429)["429"], "headers": {"Retry-After": ratelimit}},
            **_problems(500, 503),
        },
    }
    return {"post": post}, schemas
