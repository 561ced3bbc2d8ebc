"""Validating the service's PDF signatures with tools nobody here wrote: pyHanko's validator and
poppler's pdfsig, both trusting only the development CA (scripts.signing_ca).

pdfsig reads its trust from an NSS database, made here with NSS's certutil. It runs in a network
namespace of its own (unshare -n), so whatever a certificate named it could reach nothing; its
-no-ocsp switch is not used, as poppler 22.12 then reports every certificate as an "unknown issue"."""

import re
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

from asn1crypto import pem, x509
from cryptography import x509 as crypto_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from scripts.signing_ca import DevelopmentCa


def development_ca() -> x509.Certificate:
    return x509.Certificate.load(pem.unarmor(DevelopmentCa.load_or_create().certificate_pem.encode())[2])


def pyhanko_status(pdf: bytes) -> PdfSignatureStatus:
    """pyHanko's verdict on the file's one signature, the development CA as the only trust root."""
    (signature,) = PdfFileReader(BytesIO(pdf), strict=False).embedded_signatures
    return validate_pdf_signature(signature, ValidationContext(trust_roots=[development_ca()]))


def pyhanko_accepts(pdf: bytes) -> bool:
    """Valid, intact, trusted, and covering the whole file."""
    try:
        status = pyhanko_status(pdf)
    except Exception:  # a file pyHanko cannot even read as signed does not validate
        return False
    return bool(status.bottom_line and status.coverage is not None and status.coverage.name == "ENTIRE_FILE")


@dataclass(frozen=True)
class PdfsigReport:
    text: str

    @property
    def signature_valid(self) -> bool:
        return "Signature Validation: Signature is Valid." in self.text

    @property
    def certificate_trusted(self) -> bool:
        return "Certificate Validation: Certificate is Trusted." in self.text

    @property
    def whole_document(self) -> bool:
        return "Total document signed" in self.text

    @property
    def signed_ranges(self) -> list[tuple[int, int]]:
        found = re.search(r"Signed Ranges: \[(\d+) - (\d+)\], \[(\d+) - (\d+)\]", self.text)
        assert found, self.text
        a, b, c, d = map(int, found.groups())
        return [(a, b), (c, d)]

    @property
    def accepts(self) -> bool:
        return self.signature_valid and self.certificate_trusted and self.whole_document


class Pdfsig:
    """poppler's pdfsig with an NSS database that trusts the development CA for signing."""

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="nssdb-")
        self.database = f"sql:{self._directory.name}"
        ca = Path(self._directory.name) / "development-ca.pem"
        ca.write_text(DevelopmentCa.load_or_create().certificate_pem)
        subprocess.run(["certutil", "-N", "-d", self.database, "--empty-password"], check=True, capture_output=True)
        subprocess.run(
            ["certutil", "-A", "-d", self.database, "-n", "Room Snapshots development CA", "-t", "CT,C,C", "-i", ca],
            check=True,
            capture_output=True,
        )

    def check(self, pdf: bytes) -> PdfsigReport:
        with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
            file.write(pdf)
            file.flush()
            done = subprocess.run(
                ["unshare", "-n", "pdfsig", "-nssdir", self.database, file.name],
                capture_output=True,
                text=True,
                timeout=60,
            )
        return PdfsigReport(done.stdout + done.stderr)

    def close(self) -> None:
        self._directory.cleanup()


def flipped(pdf: bytes, offset: int) -> bytes:
    changed = bytearray(pdf)
    changed[offset] ^= 0x01
    return bytes(changed)


def offsets_in_signed_ranges(ranges: list[tuple[int, int]], pdf: bytes) -> list[int]:
    """Bytes spread over both signed ranges: near the start, in the page content, just before and
    just after the signature value, and in the signature dictionary's reason text."""
    (start, first_end), (second_start, end) = ranges  # as pdfsig prints them: [start - end)
    reason = pdf.index(b"/Reason (Issued") + len(b"/Reason (I")
    return [start + 10, (start + first_end) // 2, first_end - 1, second_start, reason, end - 10]


class LocalTimestampAuthority:
    """An RFC 3161 timestamp authority over HTTP on 127.0.0.1: pyHanko's own TSA implementation
    (DummyTimeStamper) answers each request, with an RSA key certified for time-stamping by the
    development CA. The renderer reaches it as it would a deployment's authority."""

    def __init__(self) -> None:
        import asyncio
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from asn1crypto import keys, tsp
        from pyhanko.sign.timestamps import DummyTimeStamper

        ca = DevelopmentCa.load_or_create()
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        certificate = (
            crypto_x509.CertificateBuilder()
            .subject_name(
                crypto_x509.Name([crypto_x509.NameAttribute(NameOID.COMMON_NAME, "Local timestamp authority")])
            )
            .issuer_name(ca.certificate.subject)
            .public_key(key.public_key())
            .serial_number(crypto_x509.random_serial_number())
            .not_valid_before(datetime.now(UTC) - timedelta(minutes=5))
            .not_valid_after(datetime.now(UTC) + timedelta(days=30))
            .add_extension(crypto_x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .sign(ca.key, hashes.SHA256())
        )
        stamper = DummyTimeStamper(
            tsa_cert=x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER)),
            tsa_key=keys.PrivateKeyInfo.load(
                key.private_bytes(
                    serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            ),
        )
        self.requests = 0
        authority = self

        class Answer(BaseHTTPRequestHandler):
            def do_POST(self):
                request = tsp.TimeStampReq.load(self.rfile.read(int(self.headers["Content-Length"])))
                reply = asyncio.run(stamper.async_request_tsa_response(request)).dump()
                authority.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}/tsa"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
