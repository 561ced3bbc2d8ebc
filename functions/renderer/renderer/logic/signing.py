"""PAdES signatures with pyHanko, the private key staying in KMS.

This module imports pyHanko (about a fifth of a second), so the handler imports it on its first
cache miss only: a container that serves only cache hits never loads it.

Every PDF gets one invisible certification signature (DocMDP: no changes allowed) of subfilter
ETSI.CAdES.detached over SHA-256: PAdES baseline B-B, or B-T when the deployment names an
RFC 3161 timestamp authority. The signing time and the signer are in the signature, not on the
page, so the printed content (and its hash) stays what the room printed."""

import asyncio
from dataclasses import dataclass
from io import BytesIO
from typing import Protocol

from asn1crypto import x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from roomsnap.certificates import certificates_der
from roomsnap.errors import SigningUnavailable

FIELD_NAME = "RoomSnapshotsSignature"
# KMS signs at most 4,096 bytes of RAW message; the DER signed attributes of a PAdES signature
# (content type, message digest, signing certificate v2, CMS algorithm protection) are ~250.
KMS_MESSAGE_LIMIT = 4096
TIMESTAMP_TIMEOUT_S = 5
DRY_RUN_SIGNATURE_BYTES = {"ECC_NIST_P256": 72, "RSA_2048": 256, "RSA_3072": 384, "RSA_4096": 512}


class KeyService(Protocol):
    """roomsnap.dal.signing_key.SigningKey: the KMS key behind the signatures."""

    def identity(self) -> tuple[str, str, bytes]: ...

    def sign(self, key_arn: str, key_spec: str, message: bytes) -> bytes: ...


@dataclass(frozen=True)
class SignerSettings:
    certificate_chain_pem: str
    timestamp_url: str = ""


class KmsSigner(signers.Signer):
    """A pyHanko signer whose raw signature is one kms:Sign of the DER-encoded signed attributes."""

    def __init__(self, keys: KeyService, key_arn: str, key_spec: str, chain: list[x509.Certificate]):
        super().__init__(
            signing_cert=chain[0],
            cert_registry=SimpleCertificateStore.from_certs(chain[1:]),
            embed_roots=True,
        )
        self.keys, self.key_arn, self.key_spec = keys, key_arn, key_spec

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm != "sha256":
            raise SigningUnavailable(f"KMS signs SHA-256 here, not {digest_algorithm}")
        if dry_run:  # pyHanko sizes the signature's placeholder with this
            return bytes(DRY_RUN_SIGNATURE_BYTES[self.key_spec])
        if len(data) > KMS_MESSAGE_LIMIT:
            raise SigningUnavailable(f"the signed attributes ({len(data)} bytes) exceed what KMS signs raw")
        return await asyncio.to_thread(self.keys.sign, self.key_arn, self.key_spec, data)


class PdfSealer:
    """Signs PDFs with the KMS key, under the certificate the deployment keeps for it. Built once per
    container (one GetPublicKey, one GetParameter); a certificate that does not certify the key's
    public key is refused here, before any PDF could carry a signature no reader would accept."""

    def __init__(self, keys: KeyService, settings: SignerSettings):
        key_arn, key_spec, public_key = keys.identity()
        chain = [x509.Certificate.load(der) for der in certificates_der(settings.certificate_chain_pem)]
        if chain[0].public_key.dump() != public_key:
            raise SigningUnavailable("the signing certificate does not certify the KMS signing key's public key")
        self.signer = KmsSigner(keys, key_arn, key_spec, chain)
        self.timestamper = (
            HTTPTimeStamper(settings.timestamp_url, timeout=TIMESTAMP_TIMEOUT_S) if settings.timestamp_url else None
        )
        self.metadata = signers.PdfSignatureMetadata(
            field_name=FIELD_NAME,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            certify=True,
            docmdp_permissions=fields.MDPPerm.NO_CHANGES,
            reason="Issued by Room Snapshots",
        )

    @property
    def level(self) -> str:
        return "B-T" if self.timestamper else "B-B"

    def sign(self, pdf: bytes) -> bytes:
        """The PDF with its signature appended as an incremental update."""
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        try:
            signed = signers.sign_pdf(writer, self.metadata, signer=self.signer, timestamper=self.timestamper)
        except SigningUnavailable:
            raise
        except Exception as error:  # pyHanko wraps the KMS failure; a timestamp authority may be down
            cause = error.__cause__ or error.__context__
            if isinstance(cause, SigningUnavailable):
                raise cause from error
            unreachable = " (the timestamp authority may be unreachable)" if self.timestamper else ""
            raise SigningUnavailable(f"the signature could not be made{unreachable}") from error
        return signed.getvalue()
