"""The development certificate authority that certifies the local stack's PDF signing key.

In AWS an organization's own CA issues the signing certificate for the KMS key's public key
(docs/signing.md). Locally the template's signing key lives in moto's KMS, which makes a new key
each time the stack starts; this CA, created on first use and kept under .local/ like the
development JWT key, certifies that key's public key (kms:GetPublicKey) at start-up,
and the stack stores the chain where the template's parameter says, as a deployment would. Tests
and a person's PDF reader trust the CA's certificate (.local/signing-ca.pem)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from template_emulator.auth import write_once

if TYPE_CHECKING:
    from template_emulator.endpoint import Endpoint
    from template_emulator.template import Template

CA_PATH = Path(__file__).resolve().parent.parent / ".local" / "signing-ca.pem"
CA_NAME = "Room Snapshots development CA"
CA_VALIDITY = timedelta(days=3650)
LEAF_VALIDITY = timedelta(days=365)


def _key_usage(*allowed: str) -> x509.KeyUsage:
    flags = [
        *("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement"),
        *("key_cert_sign", "crl_sign", "encipher_only", "decipher_only"),
    ]
    return x509.KeyUsage(**{flag: flag in allowed for flag in flags})


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Room Snapshots (development only)"),
        ]
    )


class DevelopmentCa:
    def __init__(self, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate):
        self.key = key
        self.certificate = certificate

    @classmethod
    def load_or_create(cls, path: Path = CA_PATH) -> DevelopmentCa:
        if not path.exists():
            _create_ca_file(path)
        data = path.read_bytes()
        key = serialization.load_pem_private_key(data, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey), f"{path} holds no EC key"
        return cls(key, x509.load_pem_x509_certificate(data))

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def certify(self, public_key_der: bytes, common_name: str) -> str:
        """A document-signing certificate for this public key (PEM), as an organization's CA issues one."""
        now = datetime.now(UTC)
        public_key = serialization.load_der_public_key(public_key_der)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self.certificate.subject)
            .public_key(public_key)  # type: ignore[arg-type]
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + LEAF_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                _key_usage("digital_signature", "content_commitment"),
                critical=True,
            )
            # Document signing (RFC 9336), and e-mail protection, which NSS (poppler's pdfsig) asks of a signer.
            .add_extension(
                x509.ExtendedKeyUsage(
                    [x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36"), ExtendedKeyUsageOID.EMAIL_PROTECTION]
                ),
                critical=False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)  # type: ignore[arg-type]
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        return certificate.public_bytes(serialization.Encoding.PEM).decode()

    def chain_for(self, public_key_der: bytes, common_name: str) -> str:
        """The PEM chain a deployment keeps: the signing certificate, then the CA's."""
        return self.certify(public_key_der, common_name) + self.certificate_pem


def certify_signing_key(kms: Any, ssm: Any, key_id: str, parameter_name: str, common_name: str) -> str:
    """Certifies the KMS key's public key with the development CA and stores the chain in the SSM
    parameter (overwriting the previous start's). Returns the chain."""
    chain = DevelopmentCa.load_or_create().chain_for(kms.get_public_key(KeyId=key_id)["PublicKey"], common_name)
    ssm.put_parameter(Name=parameter_name, Value=chain, Type="String", Overwrite=True)
    return chain


def certify_template_signers(template: Template, endpoint: Endpoint) -> dict[str, str]:
    """A function that signs PDFs names its KMS key and the SSM parameter of the key's certificate
    chain (SIGNING_KEY_ID, SIGNING_CERTIFICATE_PARAMETER): each such key is certified. Returns
    parameter name -> chain."""
    kms, ssm = endpoint.client("kms"), endpoint.client("ssm")
    signers = {
        (function.environment["SIGNING_KEY_ID"], function.environment["SIGNING_CERTIFICATE_PARAMETER"])
        for function in template.functions().values()
        if function.environment.get("SIGNING_KEY_ID") and function.environment.get("SIGNING_CERTIFICATE_PARAMETER")
    }
    return {
        parameter: certify_signing_key(kms, ssm, key_id, parameter, f"{template.stack_name} PDF signing (development)")
        for key_id, parameter in sorted(signers)
    }


def _create_ca_file(path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(CA_NAME))
        .issuer_name(_name(CA_NAME))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            _key_usage("key_cert_sign", "crl_sign"),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_once(
        path,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + certificate.public_bytes(serialization.Encoding.PEM),
    )
