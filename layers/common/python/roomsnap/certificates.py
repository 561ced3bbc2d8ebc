"""PEM certificate chains as the deployment keeps them (the signing certificate first)."""

import re
import ssl

from roomsnap.errors import SigningUnavailable

PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def certificates_der(chain_pem: str) -> list[bytes]:
    """Each certificate of the chain, DER-encoded, in order."""
    found = [ssl.PEM_cert_to_DER_cert(block) for block in PEM_CERTIFICATE.findall(chain_pem)]
    if not found:
        raise SigningUnavailable("the signing certificate parameter holds no PEM certificate")
    return found
