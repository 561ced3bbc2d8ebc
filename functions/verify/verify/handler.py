"""POST /api/v1/verify (HTTP API payload 2.0, no authorizer): anyone holding a snapshot's PDF, or
its SHA-256, asks whether this deployment issued exactly those bytes.

A function of its own, so pyHanko never weighs on the API's cold start, and imported here only when
the first PDF is uploaded (a SHA-256 needs one Query). Every answer is JSON; every refusal an
RFC 9457 problem: 400 (not a PDF), 401/403 (a token that fails), 413 (over 4 MiB: send the SHA-256),
415, 422 (a malformed SHA-256), 429 (over the caller's rate), 503 (a dependency briefly away)."""

import base64
import json
from datetime import UTC, datetime
from functools import cache

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, event_source
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from roomsnap.certificates import certificates_der
from roomsnap.config import settings
from roomsnap.dal import RoomRepository
from roomsnap.dal.issuance import IssuanceRecords
from roomsnap.dal.signing_key import certificate_chain
from roomsnap.dal.verify_limits import VerifyLimits
from roomsnap.errors import BadRequest, DomainError, SigningUnavailable, TooManyRequests, UnprocessableEntity
from roomsnap.observability import logged_with_context, logger, metrics, traced
from roomsnap.problem_details import PROBLEM_JSON, problem_body
from roomsnap.verification import MAX_PDF_BYTES, Verification, VerifyRequest

from verify.logic.verifier import FoundSignature, Verifier
from verify.tokens import caller_of

SETTINGS = settings()


class PayloadTooLarge(DomainError):
    status = 413


class UnsupportedMediaType(DomainError):
    status = 415


limits = VerifyLimits(SETTINGS.table_name, SETTINGS.verify_requests_per_minute)


def read_signatures(pdf: bytes) -> list[FoundSignature]:
    from verify.logic.signatures import read_signatures as read  # pyHanko: on the first uploaded PDF

    return read(pdf, trusted_chain())


@cache
def trusted_chain() -> list:
    """The deployment's signing chain, its CA certificates trusted (read once per container)."""
    from asn1crypto import x509

    from verify.logic.signatures import trust_roots

    try:
        chain = [
            x509.Certificate.load(der)
            for der in certificates_der(certificate_chain(SETTINGS.signing_certificate_parameter))
        ]
    except SigningUnavailable:
        logger.warning("no signing certificate configured: signatures are checked for integrity only")
        return []
    return trust_roots(chain)


verifier = Verifier(IssuanceRecords(SETTINGS.table_name), RoomRepository(SETTINGS.table_name), read_signatures)


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def answer(status: int, body: str, content_type: str = "application/json", headers: dict | None = None) -> dict:
    return {"statusCode": status, "headers": {"Content-Type": content_type, **(headers or {})}, "body": body}


def problem(event: APIGatewayProxyEventV2, status: int, detail: str, headers: dict | None = None) -> dict:
    return answer(status, problem_body(status, detail, event.request_context.request_id), PROBLEM_JSON, headers)


def body_bytes(event: APIGatewayProxyEventV2) -> bytes:
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode("utf-8", "surrogatepass")


def verify(event: APIGatewayProxyEventV2) -> Verification:
    """Parses the request and asks the verifier; raises DomainError for what a caller must fix."""
    caller = caller_of(
        event.headers.get("authorization"),
        SETTINGS.jwt_issuer,
        SETTINGS.jwt_audience,
        SETTINGS.admin_group,
        SETTINGS.idp_verifies_emails,
    )
    who = f"user:{caller.email}" if caller else f"ip:{event.request_context.http.source_ip}"
    admission = limits.admit(who, datetime.now(UTC))
    if admission == "refused":
        retry_after = 60 - datetime.now(UTC).second
        raise TooManyRequests(
            f"at most {SETTINGS.verify_requests_per_minute} verifications a minute; try again in {retry_after} s",
            {"Retry-After": str(retry_after)},
        )
    if admission == "uncounted":
        logger.warning("verification let through uncounted: the table throttled the limit's write")
    kind, body = media_type(event.headers.get("content-type", "")), body_bytes(event)
    if len(body) > MAX_PDF_BYTES:
        raise PayloadTooLarge(f"send at most {MAX_PDF_BYTES} bytes of PDF; for a larger file, send its SHA-256")
    if kind == "application/pdf":
        if not body.startswith(b"%PDF-"):
            raise BadRequest("the body is not a PDF (it does not start with %PDF-)")
        return verifier.by_pdf(body, caller)
    if kind == "application/json":
        try:
            request = VerifyRequest.model_validate_json(body)
        except ValidationError as error:
            raise UnprocessableEntity(
                'send {"sha256": "<64 hex digits>"}: '
                + "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors())
            ) from None
        return verifier.by_sha256(request.sha256, caller)
    raise UnsupportedMediaType('send the PDF as application/pdf, or {"sha256": ...} as application/json')


@traced
@metrics.log_metrics
@logged_with_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@event_source(data_class=APIGatewayProxyEventV2)
def lambda_handler(event: APIGatewayProxyEventV2, context) -> dict:
    try:
        verification = verify(event)
    except DomainError as error:
        return problem(event, error.status, error.message, error.headers)
    except (ClientError, BotoCoreError) as error:  # after botocore's retries
        logger.warning("dependency unavailable", exc_info=error)
        return problem(event, 503, "the service is briefly unavailable; retry in a second", {"Retry-After": "1"})
    except Exception:
        logger.exception("unhandled error")
        return problem(event, 500, "an unexpected error occurred; it has been logged")
    logger.info("verified", extra={"verdict": verification.verdict, "sha256": verification.sha256})
    return answer(200, json.dumps(verification.model_dump(mode="json")))
