"""The real template.yaml provisioned on the embedded endpoint, checked through boto3."""

import copy
import json
from pathlib import Path

import pytest
from moto.dynamodb.models import dynamodb_backends

from infra.endpoint import Endpoint
from infra.provision import provision
from infra.template import ACCOUNT_ID, Template

TEMPLATE = Path(__file__).parents[2] / "template.yaml"


@pytest.fixture(scope="module")
def provisioned():
    endpoint = Endpoint()
    template = Template(TEMPLATE, region=endpoint.region, stack_name="room-snapshots-provision")
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


def test_a_transactions_backup_leaves_the_stream_alone_and_a_failed_one_adds_no_records():
    """moto deep-copies a table before each transaction: with the stream in the copy, transactions
    slowed down with every write ever made (infra.endpoint keeps it out)."""
    endpoint = Endpoint()
    try:
        dynamodb = endpoint.client("dynamodb")
        dynamodb.create_table(
            TableName="streamed",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        table = dynamodb_backends[ACCOUNT_ID][endpoint.region].get_table("streamed")
        assert copy.deepcopy(table).stream_shard is table.stream_shard
        dynamodb.put_item(TableName="streamed", Item={"PK": {"S": "a"}})
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            dynamodb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": "streamed", "Item": {"PK": {"S": "b"}}}},
                    {
                        "Put": {
                            "TableName": "streamed",
                            "Item": {"PK": {"S": "a"}},
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                ]
            )
        restored = dynamodb_backends[ACCOUNT_ID][endpoint.region].get_table("streamed")
        assert [record.record["dynamodb"]["Keys"]["PK"]["S"] for record in restored.stream_shard.items] == ["a"]
        assert restored.stream_shard.table is restored
    finally:
        endpoint.client("dynamodb").delete_table(TableName="streamed")
        endpoint.stop()
