"""Webhook signing secrets, encrypted with the template's KMS key.

The API encrypts (a new or rotated secret) and the delivery function decrypts; the key policy
allows each of them that one action and nobody else either. The encryption context binds a
ciphertext to its room and webhook, so a ciphertext copied onto another webhook does not decrypt.
"""

import base64
from functools import lru_cache

from roomsnap.dal.clients import client


def _context(room_id: str, webhook_id: str) -> dict[str, str]:
    return {"room_id": room_id, "webhook_id": webhook_id}


class SecretBox:
    def __init__(self, key_id: str):
        self.key_id = key_id

    def seal(self, secret: str, room_id: str, webhook_id: str) -> str:
        blob = client("kms").encrypt(
            KeyId=self.key_id, Plaintext=secret.encode(), EncryptionContext=_context(room_id, webhook_id)
        )["CiphertextBlob"]
        return base64.b64encode(blob).decode()

    def open(self, ciphertext: str, room_id: str, webhook_id: str) -> str:
        return _decrypt(self.key_id, ciphertext, room_id, webhook_id)


@lru_cache(maxsize=256)
def _decrypt(key_id: str, ciphertext: str, room_id: str, webhook_id: str) -> str:
    """One Decrypt per ciphertext per warm container: a ciphertext never changes (rotation makes a
    new one), so the plaintext can be kept for the container's life."""
    return str(
        client("kms")
        .decrypt(
            KeyId=key_id, CiphertextBlob=base64.b64decode(ciphertext), EncryptionContext=_context(room_id, webhook_id)
        )["Plaintext"]
        .decode()
    )
