"""Integration tests: the functions' own code, in this process, against the embedded moto server
over HTTP, with every table, queue and bucket provisioned from template.yaml."""

import os
from pathlib import Path

import pytest
from template_emulator.auth import LOCAL_ISSUER
from template_emulator.endpoint import Endpoint
from template_emulator.http_api import local_issuer_parameters
from template_emulator.provision import provision
from template_emulator.template import Template
from template_emulator.web import record_distribution_attributes

from roomsnap.dal import RoomRepository, SnapshotRepository
from roomsnap.dal.issuance import IssuanceRecords
from roomsnap.dal.pdf_records import PdfRecords
from roomsnap.dal.queues import WebhookQueue
from roomsnap.dal.secrets import SecretBox
from roomsnap.dal.signing_key import SigningKey
from roomsnap.dal.storage import PdfStore
from roomsnap.dal.webhooks import DeliveryLog, MessageRepository, WebhookRepository
from roomsnap.outbox import Outbox

from scripts.local import PROFILE
from scripts.signing_ca import certify_template_signers

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="package")
def aws():
    """Starts moto, provisions the template (and certifies its signing key: the chain's parameter is
    among the resources) and points this process's boto3 at it."""
    endpoint = Endpoint()
    # A stack name of its own: moto's state is per process, and the shared e2e stack (same
    # resource names otherwise) may still be running, its functions consuming these queues.
    template = Template(ROOT / "template.yaml", region=endpoint.region, stack_name="room-snapshots-integration")
    # As the emulator runs it: its issuer and client id, the web app's domain its own.
    template.set_parameters(local_issuer_parameters(template, LOCAL_ISSUER, PROFILE.client_id))
    record_distribution_attributes(template, "127.0.0.1:3000")
    resources = provision(template, endpoint)
    (signing_parameter,) = certify_template_signers(template, endpoint)
    resources = {**resources, "SigningCertificateParameter": signing_parameter}  # where the chain is kept
    saved = dict(os.environ)
    os.environ.update(endpoint.environment())
    from roomsnap.dal import clients

    clients.client.cache_clear()
    try:
        yield resources, endpoint
    finally:
        clients.client.cache_clear()
        os.environ.clear()
        os.environ.update(saved)
        endpoint.stop()


@pytest.fixture
def parts(aws):
    resources, endpoint = aws
    return {
        "rooms": RoomRepository(resources["DataTable"]),
        "snapshots": SnapshotRepository(resources["DataTable"]),
        "pdf_records": PdfRecords(resources["DataTable"]),
        "pdfs": PdfStore(resources["PdfBucket"]),
        "s3": endpoint.client("s3"),
        "bucket": resources["PdfBucket"],
        "issuances": IssuanceRecords(resources["DataTable"]),
        "signing_key": SigningKey(resources["SigningKeyAlias"]),
        "certificate_parameter": resources["SigningCertificateParameter"],
    }


@pytest.fixture
def hooks(aws, parts):
    resources, _ = aws
    table = resources["DataTable"]
    repositories = {
        "webhooks": WebhookRepository(table),
        "messages": MessageRepository(table),
        "log": DeliveryLog(table),
        "secrets": SecretBox(resources["WebhookSecretKey"]),
        "queue": WebhookQueue(resources["WebhookQueue"]),
        "rooms": parts["rooms"],
        "snapshots": parts["snapshots"],
    }
    repositories["outbox"] = Outbox(repositories["webhooks"], repositories["messages"], repositories["queue"])
    return repositories
