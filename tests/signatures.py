"""Validating the service's PDF signatures with tools nobody here wrote: pyHanko's validator and
poppler's pdfsig, both trusting only the development CA (infra.signing_ca).

pdfsig reads its trust from an NSS database, made here with NSS's certutil. It runs in a network
namespace of its own (unshare -n), so whatever a certificate named it could reach nothing; its
-no-ocsp switch is not used, as poppler 22.12 then reports every certificate as an "unknown issue"."""

import re
import subprocess
import tempfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from asn1crypto import pem, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from infra.signing_ca import DevelopmentCa


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
