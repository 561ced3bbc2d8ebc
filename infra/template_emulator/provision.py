"""Creates the template's tables, queues and buckets on the endpoint, in dependency order; reuses existing ones."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from template_emulator.endpoint import Endpoint
from template_emulator.template import Template

log = logging.getLogger("template_emulator.provision")

# Played by the emulator itself rather than created on the endpoint.
RUN_LOCALLY = {
    "AWS::Serverless::Function",
    "AWS::Serverless::LayerVersion",
    "AWS::Serverless::HttpApi",
    "AWS::AppSync::Api",  # with its channel namespaces and data sources: template_emulator.appsync_events
    "AWS::AppSync::ChannelNamespace",
    "AWS::AppSync::DataSource",
}


def provision(template: Template, endpoint: Endpoint) -> dict[str, str]:
    """Returns logical id -> physical id (table name, queue URL, bucket name)."""
    provisioners: dict[str, Callable[[Template, Endpoint, str, dict], str]] = {
        "AWS::DynamoDB::Table": _table,
        "AWS::SQS::Queue": _queue,
        "AWS::S3::Bucket": _bucket,
        "AWS::S3::BucketPolicy": _bucket_policy,
        "AWS::KMS::Key": _kms_key,
        "AWS::KMS::Alias": _kms_alias,
    }
    created, skipped = {}, []
    for logical_id in template.dependency_order():
        type_ = template.resources[logical_id]["Type"]
        if type_ in provisioners:
            created[logical_id] = provisioners[type_](template, endpoint, logical_id, template.properties(logical_id))
        elif type_ not in RUN_LOCALLY:
            skipped.append(f"{logical_id} ({type_})")
    if skipped:
        log.info("not provisioned locally: %s", ", ".join(skipped))
    return created


def _warn_unapplied(logical_id: str, properties: dict[str, Any], applied: set[str]) -> None:
    if set(properties) - applied:
        log.warning("%s: not applied locally: %s", logical_id, ", ".join(sorted(set(properties) - applied)))


def _tags(properties: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": tag["Key"], "Value": str(tag["Value"])} for tag in properties.get("Tags", [])]


def _table(template: Template, endpoint: Endpoint, logical_id: str, properties: dict[str, Any]) -> str:
    name = template.physical_name(logical_id)
    dynamodb = endpoint.client("dynamodb")
    _warn_unapplied(
        logical_id,
        properties,
        {
            "TableName",
            "KeySchema",
            "AttributeDefinitions",
            "BillingMode",
            "ProvisionedThroughput",
            "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes",
            "SSESpecification",
            "StreamSpecification",
            "Tags",
            "TimeToLiveSpecification",
            "PointInTimeRecoverySpecification",
        },
    )
    try:
        dynamodb.describe_table(TableName=name)
        log.info("%s: reusing table %s", logical_id, name)
    except dynamodb.exceptions.ResourceNotFoundException:
        request: dict[str, Any] = {
            key: properties[key]
            for key in (
                "KeySchema",
                "AttributeDefinitions",
                "BillingMode",
                "ProvisionedThroughput",
                "GlobalSecondaryIndexes",
                "LocalSecondaryIndexes",
            )
            if key in properties
        }
        if "SSESpecification" in properties:
            sse = properties["SSESpecification"]
            request["SSESpecification"] = {
                "Enabled": sse["SSEEnabled"],
                **{key: sse[key] for key in ("SSEType", "KMSMasterKeyId") if key in sse},
            }
        if "StreamSpecification" in properties:
            request["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
        if "Tags" in properties:
            request["Tags"] = _tags(properties)
        dynamodb.create_table(TableName=name, **request)
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
        log.info("%s: created table %s", logical_id, name)
    ttl = properties.get("TimeToLiveSpecification")
    if ttl and dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"].get("TimeToLiveStatus") not in (
        "ENABLED",
        "ENABLING",
    ):
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    if "PointInTimeRecoverySpecification" in properties:
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification=properties["PointInTimeRecoverySpecification"]
        )
    table = dynamodb.describe_table(TableName=name)["Table"]
    stream = {"StreamArn": table["LatestStreamArn"]} if "LatestStreamArn" in table else {}
    template.record(logical_id, Ref=name, Arn=table["TableArn"], **stream)
    return name


def _queue(template: Template, endpoint: Endpoint, logical_id: str, properties: dict[str, Any]) -> str:
    name = template.physical_name(logical_id)
    sqs = endpoint.client("sqs")
    # Every other property is a queue attribute of the same name, given as a string.
    attributes = {
        key: _attribute_string(value) for key, value in properties.items() if key not in ("QueueName", "Tags")
    }
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        log.info("%s: reusing queue %s", logical_id, url)
    except sqs.exceptions.QueueDoesNotExist:
        tags = {tag["Key"]: tag["Value"] for tag in _tags(properties)}
        url = sqs.create_queue(QueueName=name, Attributes=attributes, **({"tags": tags} if tags else {}))["QueueUrl"]
        log.info("%s: created queue %s", logical_id, url)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    template.record(logical_id, Ref=url, QueueUrl=url, QueueName=name, Arn=arn)
    return url


def _attribute_string(value: Any) -> str:
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _bucket(template: Template, endpoint: Endpoint, logical_id: str, properties: dict[str, Any]) -> str:
    name = template.physical_name(logical_id)
    s3 = endpoint.client("s3")
    _warn_unapplied(
        logical_id,
        properties,
        {
            "BucketName",
            "BucketEncryption",
            "PublicAccessBlockConfiguration",
            "OwnershipControls",
            "LifecycleConfiguration",
            "VersioningConfiguration",
            "Tags",
        },
    )
    try:
        s3.head_bucket(Bucket=name)
        log.info("%s: reusing bucket %s", logical_id, name)
        return name
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
            raise
    location = (
        {} if endpoint.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": endpoint.region}}
    )
    s3.create_bucket(Bucket=name, **location)
    if "BucketEncryption" in properties:
        rules = [
            {
                "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                **({"BucketKeyEnabled": rule["BucketKeyEnabled"]} if "BucketKeyEnabled" in rule else {}),
            }
            for rule in properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in properties:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"]
        )
    if "OwnershipControls" in properties:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=properties["OwnershipControls"])
    if "VersioningConfiguration" in properties:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=properties["VersioningConfiguration"])
    if "LifecycleConfiguration" in properties:
        rules = [_lifecycle_rule(rule) for rule in properties["LifecycleConfiguration"]["Rules"]]
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
    if "Tags" in properties:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tags(properties)})
    log.info("%s: created bucket %s", logical_id, name)
    return name


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's lifecycle rule shape -> S3 API's."""
    converted: dict[str, Any] = {"Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "Id" in rule:
        converted["ID"] = rule["Id"]
    if "AbortIncompleteMultipartUpload" in rule:
        converted["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    if "ExpirationInDays" in rule:
        converted["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "NoncurrentVersionExpiration" in rule:
        converted["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
        }
    unapplied = set(rule) - {
        "Id",
        "Status",
        "Prefix",
        "AbortIncompleteMultipartUpload",
        "ExpirationInDays",
        "NoncurrentVersionExpiration",
    }
    if unapplied:
        log.warning("lifecycle rule %s: not applied locally: %s", rule.get("Id", ""), ", ".join(sorted(unapplied)))
    return converted


def _kms_key(template: Template, endpoint: Endpoint, logical_id: str, properties: dict[str, Any]) -> str:
    """A key (symmetric unless its KeySpec says otherwise), found again by its alias
    (alias/<physical name>) when the endpoint keeps state, so what it encrypted stays readable.
    The key policy is not applied: moto evaluates no Allow statement of a key policy (only Deny,
    and only for DescribeKey)."""
    kms = endpoint.client("kms")
    _warn_unapplied(logical_id, properties, {"Description", "EnableKeyRotation", "KeyPolicy", "KeySpec", "KeyUsage"})
    log.info("%s: KeyPolicy not applied locally (moto evaluates no Allow statement of a key policy)", logical_id)
    alias = f"alias/{template.physical_name(logical_id)}"
    try:
        key = kms.describe_key(KeyId=alias)["KeyMetadata"]
        log.info("%s: reusing key %s", logical_id, alias)
    except kms.exceptions.NotFoundException:
        request = {key: properties[key] for key in ("Description", "KeySpec", "KeyUsage") if key in properties}
        key = kms.create_key(**request)["KeyMetadata"]
        kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
        if properties.get("EnableKeyRotation") in (True, "true"):
            kms.enable_key_rotation(KeyId=key["KeyId"])
        log.info("%s: created key %s", logical_id, alias)
    template.record(logical_id, Ref=key["KeyId"], Arn=key["Arn"])
    return str(key["KeyId"])


def _kms_alias(template: Template, endpoint: Endpoint, logical_id: str, properties: dict[str, Any]) -> str:
    """An alias of a key: pointed at its target again when it exists (the key may be new)."""
    kms = endpoint.client("kms")
    name, target = properties["AliasName"], properties["TargetKeyId"]
    try:
        kms.create_alias(AliasName=name, TargetKeyId=target)
        log.info("%s: created alias %s", logical_id, name)
    except kms.exceptions.AlreadyExistsException:
        kms.update_alias(AliasName=name, TargetKeyId=target)
        log.info("%s: pointed alias %s at %s", logical_id, name, target)
    template.record(logical_id, Ref=name)
    return str(name)


def _bucket_policy(template: Template, endpoint: Endpoint, logical_id: str, properties: dict[str, Any]) -> str:
    bucket, document = properties["Bucket"], properties["PolicyDocument"]
    statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
    enforceable = [statement for statement in statements if _locally_enforceable(statement)]
    for statement in statements:
        if statement not in enforceable:
            log.warning(
                "%s: statement %s not applied locally: moto takes its %s condition as always met",
                logical_id,
                statement.get("Sid", "(no Sid)"),
                "/".join(statement["Condition"]),
            )
    if enforceable:
        endpoint.client("s3").put_bucket_policy(
            Bucket=bucket, Policy=json.dumps({**document, "Statement": enforceable})
        )
    return bucket


def _locally_enforceable(statement: dict[str, Any]) -> bool:
    """moto evaluates only StringEquals conditions and takes any other as met, so a Deny such as
    DenyInsecureTransport (Bool aws:SecureTransport) would refuse every request, TLS or not."""
    return set(statement.get("Condition", {})) <= {"StringEquals"}
