"""What the emulator's state folder keeps across a restart (template_emulator.state). moto's state is
per process, so each side runs in a process of its own, as a restarted stack does."""

import json
import subprocess
import sys
from pathlib import Path

from template_emulator.state import StateFolder

INFRA = Path(__file__).resolve().parents[1]

BEFORE = """
import json, sys, pathlib
from template_emulator.endpoint import Endpoint
from template_emulator.state import StateFolder
folder = StateFolder(pathlib.Path(sys.argv[1]))
endpoint = Endpoint()
dynamodb, sqs, s3, kms, ssm = (endpoint.client(name) for name in ("dynamodb", "sqs", "s3", "kms", "ssm"))
ssm.put_parameter(Name="/stack/chain", Value="-----BEGIN CERTIFICATE-----", Type="String",
    Tags=[{"Key": "port", "Value": "Ζhoushan"}])
dynamodb.create_table(TableName="ports", KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
dynamodb.put_item(TableName="ports", Item={"PK": {"S": "Πειραιάς"}})
url = sqs.create_queue(QueueName="work")["QueueUrl"]
sqs.send_message(QueueUrl=url, MessageBody="in flight")
sqs.receive_message(QueueUrl=url, VisibilityTimeout=300)
s3.create_bucket(Bucket="pdf-bucket")
s3.put_object(Bucket="pdf-bucket", Key="pdf/a.pdf", Body=b"%PDF-1.7 ...")
key = kms.create_key()["KeyMetadata"]["KeyId"]
asymmetric = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
blob = kms.encrypt(KeyId=key, Plaintext="whsec_σήμα".encode())["CiphertextBlob"]
signature = kms.sign(KeyId=asymmetric, Message=b"pdf", SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")["Signature"]
folder.save({"ChangesFunction.Changes": {"shard-1": "42"}})
endpoint.stop()
print(json.dumps({"blob": blob.hex(), "asymmetric": asymmetric, "signature": signature.hex()}))
"""

AFTER = """
import json, sys, pathlib
from template_emulator.endpoint import Endpoint
from template_emulator.state import StateFolder
before = json.loads(sys.argv[2])
folder = StateFolder(pathlib.Path(sys.argv[1]))
endpoint = Endpoint()
positions = folder.restore()
dynamodb, sqs, s3, kms, ssm = (endpoint.client(name) for name in ("dynamodb", "sqs", "s3", "kms", "ssm"))
streams = endpoint.client("dynamodbstreams")
url = sqs.get_queue_url(QueueName="work")["QueueUrl"]
arn = dynamodb.describe_table(TableName="ports")["Table"]["LatestStreamArn"]
shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
verified = kms.verify(KeyId=before["asymmetric"], Message=b"pdf", Signature=bytes.fromhex(before["signature"]),
    SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")["SignatureValid"]
print(json.dumps({
    "positions": positions,
    "item": dynamodb.get_item(TableName="ports", Key={"PK": {"S": "Πειραιάς"}}).get("Item"),
    "stream": len(streams.get_records(ShardIterator=iterator)["Records"]),
    "received": sqs.receive_message(QueueUrl=url).get("Messages", []),
    "in_flight": sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])[
        "Attributes"]["ApproximateNumberOfMessagesNotVisible"],
    "object": s3.get_object(Bucket="pdf-bucket", Key="pdf/a.pdf")["Body"].read().decode(),
    "secret": kms.decrypt(CiphertextBlob=bytes.fromhex(before["blob"]))["Plaintext"].decode(),
    "verified": verified,
    "parameter": ssm.get_parameter(Name="/stack/chain")["Parameter"]["Value"],
    "tags": ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/stack/chain")["TagList"],
}))
endpoint.stop()
"""


def run(script: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=INFRA, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_restarted_endpoint_has_its_tables_streams_queues_objects_keys_and_positions_back(tmp_path):
    before = run(BEFORE, str(tmp_path))

    after = run(AFTER, str(tmp_path), json.dumps(before))

    assert after["positions"] == {"ChangesFunction.Changes": {"shard-1": "42"}}
    assert after["item"] == {"PK": {"S": "Πειραιάς"}}
    assert after["stream"] == 1
    assert after["received"] == []  # still in flight: its visibility timeout runs on
    assert after["in_flight"] == "1"
    assert after["object"] == "%PDF-1.7 ..."
    assert after["secret"] == "whsec_σήμα"  # the key material came back
    assert after["verified"] is True  # and an asymmetric key's too
    assert after["parameter"] == "-----BEGIN CERTIFICATE-----"  # SSM's (whose tags moto keeps in a lambda's dict)
    assert after["tags"] == [{"Key": "port", "Value": "Ζhoushan"}]


def test_an_unreadable_state_is_set_aside_and_the_stack_starts_empty(tmp_path):
    folder = StateFolder(tmp_path)
    (tmp_path / "aws.pickle").write_bytes(b"not a pickle")

    assert folder.restore() == {}
    assert not (tmp_path / "aws.pickle").exists()
    assert [path.name.split("-")[0] for path in tmp_path.iterdir()] == ["aws.pickle.unreadable"]


def test_fresh_empties_the_folder(tmp_path):
    (tmp_path / "aws.pickle").write_bytes(b"old")

    StateFolder(tmp_path, fresh=True)

    assert list(tmp_path.iterdir()) == []
