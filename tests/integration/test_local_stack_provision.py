"""The real template.yaml provisioned on the emulator's embedded endpoint, checked through boto3."""

import json
from pathlib import Path

import pytest
from template_emulator.endpoint import Endpoint
from template_emulator.provision import provision
from template_emulator.template import Template
from template_emulator.web import record_distribution_attributes

TEMPLATE = Path(__file__).parents[2] / "template.yaml"


@pytest.fixture(scope="module")
def provisioned():
    endpoint = Endpoint()
    template = Template(TEMPLATE, region=endpoint.region, stack_name="room-snapshots-provision")
    record_distribution_attributes(template, "127.0.0.1:3000")  # the web app's domain, as emulated
    resources = provision(template, endpoint)
    yield template, endpoint, resources
    endpoint.stop()


def test_table_has_the_template_keys_indexes_ttl_and_backups(provisioned):
    template, endpoint, resources = provisioned
    dynamodb = endpoint.client("dynamodb")
    properties = template.properties("DataTable")

    table = dynamodb.describe_table(TableName=resources["DataTable"])["Table"]

    assert table["KeySchema"] == properties["KeySchema"]
    assert [index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])] == [
        index["IndexName"] for index in properties.get("GlobalSecondaryIndexes", [])
    ]
    assert table["BillingModeSummary"]["BillingMode"] == properties["BillingMode"]
    ttl = dynamodb.describe_time_to_live(TableName=resources["DataTable"])["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == (
        "ENABLED",
        properties["TimeToLiveSpecification"]["AttributeName"],
    )
    backups = dynamodb.describe_continuous_backups(TableName=resources["DataTable"])["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_queue_redrives_to_its_dead_letter_queue(provisioned):
    template, endpoint, resources = provisioned
    sqs = endpoint.client("sqs")

    attributes = sqs.get_queue_attributes(QueueUrl=resources["RenderQueue"], AttributeNames=["All"])["Attributes"]
    dead_letter_arn = sqs.get_queue_attributes(
        QueueUrl=resources["RenderDeadLetterQueue"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]

    expected = template.properties("RenderQueue")
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": dead_letter_arn,
        "maxReceiveCount": int(expected["RedrivePolicy"]["maxReceiveCount"]),
    }
    assert attributes["VisibilityTimeout"] == str(expected["VisibilityTimeout"])
    assert attributes["SqsManagedSseEnabled"] == "true"


def test_bucket_blocks_public_access_and_encrypts(provisioned):
    template, endpoint, resources = provisioned
    s3 = endpoint.client("s3")
    bucket = resources["PdfBucket"]

    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]

    assert block == template.properties("PdfBucket")["PublicAccessBlockConfiguration"]
    assert encryption[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}
    ]


def test_bucket_policy_statements_moto_would_misjudge_are_left_out(provisioned):
    # moto takes a Bool condition such as aws:SecureTransport as always met: the template's
    # DenyInsecureTransport would deny every object request, so it is not applied locally.
    template, endpoint, resources = provisioned
    s3 = endpoint.client("s3")
    bucket = resources["PdfBucket"]

    s3.put_object(Bucket=bucket, Key="infra-check", Body=b"%PDF-1.4")

    assert s3.get_object(Bucket=bucket, Key="infra-check")["Body"].read() == b"%PDF-1.4"
    s3.delete_object(Bucket=bucket, Key="infra-check")  # moto's state outlives this endpoint in the process


def test_provisioning_again_reuses_what_exists(provisioned):
    template, endpoint, resources = provisioned

    assert provision(template, endpoint) == resources


def test_functions_see_the_provisioned_resources(provisioned):
    template, endpoint, resources = provisioned

    environment = template.function("RendererFunction").environment

    assert environment["TABLE_NAME"] == resources["DataTable"]
    assert environment["RENDER_QUEUE_URL"] == resources["RenderQueue"]
    assert environment["RENDER_QUEUE_URL"].startswith(endpoint.url)
    assert environment["BUCKET_NAME"] == resources["PdfBucket"]
