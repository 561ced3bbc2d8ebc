"""boto3 clients, created once per container on first use.

boto3 reads AWS_ENDPOINT_URL itself, so the same code talks to AWS, to the emulator's embedded moto
server or to any other endpoint that speaks AWS's APIs without a branch here."""

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode backs off on throttling and 5xx; short timeouts keep a slow call from eating
# the function's whole timeout.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=5)


# Presigned download URLs must be SigV4: SigV2 is refused in newer regions and for KMS objects.
_SERVICE_CONFIG = {"s3": _CONFIG.merge(Config(signature_version="s3v4"))}


@cache
def client(service: Any) -> Any:
    return boto3.session.Session().client(service, config=_SERVICE_CONFIG.get(service, _CONFIG))
