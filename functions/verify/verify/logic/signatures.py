"""The signatures in an uploaded PDF, read and checked by pyHanko (imported with this module, on
the first uploaded PDF: a container that only answers SHA-256 questions never loads it).

Each signature's integrity is checked (its digest over the signed byte ranges, and its
cryptographic signature); its certificate is checked against the deployment's own chain (the SSM
parameter the renderer signs under), never against a system trust store, and nothing is fetched."""

from io import BytesIO

from asn1crypto import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from roomsnap.observability import logger

from verify.logic.verifier import FoundSignature


def trust_roots(chain: list[x509.Certificate]) -> list[x509.Certificate]:
    """The chain's CA certificates (a one-certificate chain trusts that certificate)."""
    return chain[1:] or chain


def read_signatures(pdf: bytes, roots: list[x509.Certificate]) -> list[FoundSignature]:
    try:
        embedded = PdfFileReader(BytesIO(pdf), strict=False).embedded_signatures
    except Exception as error:  # not a PDF pyHanko can read: it carries no signature of ours
        logger.info("no readable signatures", extra={"reason": f"{type(error).__name__}: {error}"})
        return []
    found = []
    for signature in embedded:
        try:
            byte_range = [int(value) for value in signature.byte_range]
            status = validate_pdf_signature(signature, ValidationContext(trust_roots=roots, allow_fetching=False))
        except Exception as error:  # a malformed signature is not an intact one
            logger.info("unreadable signature", extra={"reason": f"{type(error).__name__}: {error}"})
            continue
        signed_at = signature.self_reported_timestamp
        found.append(
            FoundSignature(
                signed_length=byte_range[2] + byte_range[3],
                intact=bool(status.intact and status.valid),
                signed_at=signed_at.isoformat() if signed_at else None,
                signer=signature.signer_cert.subject.human_friendly,
                timestamped=status.timestamp_validity is not None,
            )
        )
    return found
