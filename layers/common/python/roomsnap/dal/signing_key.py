"""The PDF signing key in KMS, and the certificate chain the deployment keeps for it in SSM.

The private key never leaves KMS: the renderer asks KMS to sign the DER-encoded signed attributes
of each signature (MessageType RAW: KMS hashes them itself, and AWS and moto agree on what that
means; moto ignores MessageType DIGEST and hashes again). Errors that a retry may cure (the key
disabled, a missing parameter, throttling after botocore's retries) become SigningUnavailable with
a reason an operator can act on."""

from botocore.exceptions import BotoCoreError, ClientError

from roomsnap.dal.clients import client
from roomsnap.errors import SigningUnavailable

# Each KMS key spec's signing algorithm, all over SHA-256 (what the PDF signature names).
SIGNING_ALGORITHMS = {
    "ECC_NIST_P256": "ECDSA_SHA_256",
    "RSA_2048": "RSASSA_PKCS1_V1_5_SHA_256",
    "RSA_3072": "RSASSA_PKCS1_V1_5_SHA_256",
    "RSA_4096": "RSASSA_PKCS1_V1_5_SHA_256",
}
KEY_UNUSABLE = {
    "DisabledException": "the signing key is disabled",
    "KMSInvalidStateException": "the signing key is pending deletion or not usable",
    "NotFoundException": "the signing key does not exist",
    "AccessDeniedException": "the renderer may not use the signing key",
    "KeyUnavailableException": "the signing key is unavailable",
}


def _unavailable(error: Exception) -> SigningUnavailable:
    if isinstance(error, ClientError):
        code = error.response["Error"]["Code"]
        return SigningUnavailable(KEY_UNUSABLE.get(code, f"KMS refused to sign ({code})"))
    return SigningUnavailable(f"KMS did not answer ({type(error).__name__})")


class SigningKey:
    """One asymmetric KMS key, named by alias or id. `identity()` resolves it to the key's ARN, its
    key spec and its public key; signatures are then made with that ARN, so an alias switched to a
    new key meanwhile never pairs the new key with the old certificate."""

    def __init__(self, key_id: str):
        self.key_id = key_id

    def identity(self) -> tuple[str, str, bytes]:
        """(key ARN or id, key spec, DER SubjectPublicKeyInfo)."""
        try:
            answer = client("kms").get_public_key(KeyId=self.key_id)
        except (ClientError, BotoCoreError) as error:
            raise _unavailable(error) from error
        spec = answer.get("KeySpec") or answer.get("CustomerMasterKeySpec", "")
        if spec not in SIGNING_ALGORITHMS:
            raise SigningUnavailable(f"the signing key's spec {spec} cannot sign PDFs")
        return answer["KeyId"], spec, answer["PublicKey"]

    def sign(self, key_arn: str, key_spec: str, message: bytes) -> bytes:
        """KMS's raw signature of `message` (at most 4,096 bytes), hashed by KMS with SHA-256."""
        try:
            answer = client("kms").sign(
                KeyId=key_arn, Message=message, MessageType="RAW", SigningAlgorithm=SIGNING_ALGORITHMS[key_spec]
            )
        except (ClientError, BotoCoreError) as error:
            raise _unavailable(error) from error
        return bytes(answer["Signature"])


def certificate_chain(parameter_name: str) -> str:
    """The PEM certificates (the signing key's first) kept in the SSM parameter."""
    try:
        return str(client("ssm").get_parameter(Name=parameter_name)["Parameter"]["Value"])
    except ClientError as error:
        if error.response["Error"]["Code"] == "ParameterNotFound":
            raise SigningUnavailable("no signing certificate is configured") from error
        raise _unavailable(error) from error
    except BotoCoreError as error:
        raise _unavailable(error) from error
