"""template.yaml, transformed by the SAM translator and deployed into moto's CloudFormation (over
HTTP), creates what the design needs, wired together as the template says.

Expectations are read from template.yaml itself (numbers, names, references), so these tests check
the wiring rather than repeat literals. Where moto's CloudFormation does not create a resource type
or drops a property, the check reads the transformed template instead and says so:

- AWS::ApiGatewayV2::Api / ::Stage, AWS::S3::BucketPolicy and AWS::Lambda::Alias: not created by
  moto at all (what invokes an alias invokes its function in the deployed stack).
- AWS::Lambda::Function: moto keeps Runtime/Handler/Timeout/Memory/Environment, drops Layers and
  Architectures.
- AWS::IAM::Role: moto creates inline Policies, ignores ManagedPolicyArns.
- AWS::DynamoDB::Table: moto ignores TimeToLiveSpecification, PointInTimeRecoverySpecification and
  SSESpecification (describe_* report them disabled).
- AWS::S3::Bucket: moto applies BucketEncryption, ignores PublicAccessBlockConfiguration.
"""

from __future__ import annotations

import ast
import json
import re

import pytest
from template_emulator.template import getatt_target

from tests.infrastructure.conftest import PARAMETERS, load_sam_template, package, transform

FUNCTION = "AWS::Serverless::Function"
# Resource types moto 5.2.5's CloudFormation skips; each is checked on the transformed template below.
# moto's CloudFormation skips these; AWS::CloudWatch::Alarm only in part (it skips alarms on
# metric math and with conditional actions), so alarms are checked on the transformed template.
KNOWN_SKIPPED = {
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
    "AWS::S3::BucketPolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::CloudFront::Distribution",
    "AWS::CloudFront::Function",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::ResponseHeadersPolicy",
    "AWS::AppSync::Api",
    "AWS::AppSync::ChannelNamespace",
    "AWS::AppSync::DataSource",
    "AWS::IAM::RolePolicy",
    "AWS::Lambda::Alias",  # AutoPublishAlias: conftest.unaliased, test_snapstart_functions_are_invoked_by_their_alias
}
# Roles AppSync assumes: to write the Events API's logs, and to invoke its on-subscribe function.
APPSYNC_ROLES = {"EventsApiLogsRole", "SubscribeDataSourceRole"}
# AWS managed policies a function role may carry (SAM adds them for logging and event sources).
ALLOWED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
    # SAM adds it for a DynamoDB stream event (GetRecords & co.; stream reads have no finer scope there).
    "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole",
    # SAM adds it for `Tracing`; X-Ray's write actions have no resource-level permissions.
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}
WILDCARD_ACTION = re.compile(r"^(\*|[A-Za-z0-9*-]+:\*)$")


# ---------------------------------------------------------------- helpers on the SAM template
def _of_type(template, resource_type):
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def _function_setting(sam, function_id, key, default=None):
    """A function property with Globals.Function applied (SAM: the function's own value wins)."""
    own = sam["Resources"][function_id].get("Properties", {})
    return own.get(key, sam.get("Globals", {}).get("Function", {}).get(key, default))


def _function_environment(sam, function_id):
    shared = sam.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own = sam["Resources"][function_id].get("Properties", {}).get("Environment", {}).get("Variables", {})
    return {**shared, **own}


def _events(sam, function_id, event_type):
    events = sam["Resources"][function_id].get("Properties", {}).get("Events", {})
    return {name: e.get("Properties", {}) for name, e in events.items() if e["Type"] == event_type}


def _getatt_target(value):
    """Logical id of `!GetAtt X.Arn`."""
    return getatt_target(value["Fn::GetAtt"])[0]


def _document(raw):
    """A policy document as moto returns it (JSON, or a Python repr of the dict it was given)."""
    if isinstance(raw, dict):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return ast.literal_eval(raw)


def _as_list(value):
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------- fixtures on the deployed stack
@pytest.fixture(scope="module")
def stack(deployed_stack):
    return deployed_stack


@pytest.fixture(scope="module")
def function_configs(stack):
    lam = stack.client("lambda")
    return {
        fid: lam.get_function(FunctionName=stack.physical[fid])["Configuration"]
        for fid in _of_type(stack.sam, FUNCTION)
    }


@pytest.fixture(scope="module")
def queue_attributes(stack):
    sqs = stack.client("sqs")
    return {
        qid: sqs.get_queue_attributes(QueueUrl=stack.physical[qid], AttributeNames=["All"])["Attributes"]
        for qid in _of_type(stack.sam, "AWS::SQS::Queue")
    }


# ---------------------------------------------------------------- the stack as a whole
def test_the_stack_creates_every_resource_moto_supports(stack):
    # moto skips only the types we know of (and check on the transformed template below)
    assert stack.skipped_types <= KNOWN_SKIPPED, stack.skipped_types - KNOWN_SKIPPED
    created = {lid for lid, r in stack.cfn["Resources"].items() if r["Type"] not in stack.skipped_types}
    assert created <= set(stack.physical), created - set(stack.physical)
    # every SAM resource of the source template is there under its own logical id (layers get a hash)
    for logical_id, resource in stack.sam["Resources"].items():
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            assert any(lid.startswith(logical_id) for lid in stack.cfn["Resources"]), logical_id
        elif resource["Type"] == "AWS::Serverless::HttpApi":
            assert stack.cfn["Resources"][logical_id]["Type"] == "AWS::ApiGatewayV2::Api"
        elif resource["Type"] not in stack.skipped_types:
            assert logical_id in stack.physical, logical_id


# ---------------------------------------------------------------- functions
def test_each_function_has_the_runtime_handler_and_sizes_of_the_template(stack, function_configs):
    for fid, config in function_configs.items():
        assert config["Runtime"] == _function_setting(stack.sam, fid, "Runtime"), fid
        assert config["Handler"] == _function_setting(stack.sam, fid, "Handler"), fid
        assert config["Timeout"] == int(stack.resolve(_function_setting(stack.sam, fid, "Timeout", 3))), fid
        assert config["MemorySize"] == int(stack.resolve(_function_setting(stack.sam, fid, "MemorySize", 128))), fid


def test_each_function_environment_resolves_to_the_stack_resources(stack, function_configs):
    for fid, config in function_configs.items():
        expected = {k: str(stack.resolve(v)) for k, v in _function_environment(stack.sam, fid).items()}
        deployed = {k: str(v) for k, v in config["Environment"]["Variables"].items()}
        assert deployed == expected, fid
        # the names the code reads point at the resources this stack created
        assert deployed["TABLE_NAME"] == stack.physical["DataTable"]
        assert deployed["BUCKET_NAME"] == stack.physical["PdfBucket"]
        assert deployed["RENDER_QUEUE_URL"] == stack.physical["RenderQueue"]


def test_each_function_carries_the_layer_built_for_its_runtime_and_architecture(stack):
    # moto's CloudFormation drops Layers and Architectures from AWS::Lambda::Function, so these are
    # read from the transformed template; the layer version itself is checked in moto.
    layers = _of_type(stack.cfn, "AWS::Lambda::LayerVersion")
    assert layers, "the transform produced no layer version"
    lam = stack.client("lambda")
    deployed_layers = {layer["LayerName"]: layer for layer in lam.list_layers()["Layers"]}
    for fid in _of_type(stack.sam, FUNCTION):
        function = stack.cfn["Resources"][fid]["Properties"]
        refs = [layer["Ref"] for layer in function["Layers"]]
        assert refs, fid
        assert set(refs) <= set(layers), (fid, refs)
        for ref in refs:
            layer = layers[ref]["Properties"]
            assert function["Runtime"] in layer["CompatibleRuntimes"], (fid, ref)
            assert set(function["Architectures"]) <= set(layer["CompatibleArchitectures"]), (fid, ref)
            assert any(ref in name for name in deployed_layers), f"layer {ref} not created in moto"
    # the layer is built for the same architecture it declares (sam build reads this Metadata)
    for lid, resource in _of_type(stack.sam, "AWS::Serverless::LayerVersion").items():
        build = resource.get("Metadata", {})
        assert build.get("BuildArchitecture") in resource["Properties"]["CompatibleArchitectures"], lid
        assert build.get("BuildMethod") in resource["Properties"]["CompatibleRuntimes"], lid


def test_each_function_logs_to_its_own_group_with_the_template_retention(stack, function_configs):
    logs = stack.client("logs")
    groups = {g["logGroupName"]: g for g in logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]}
    for fid, config in function_configs.items():
        declared = [
            r["Properties"]
            for r in _of_type(stack.sam, "AWS::Logs::LogGroup").values()
            if r["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{{fid}}}"}
        ]
        assert len(declared) == 1, fid
        group = groups.get(f"/aws/lambda/{config['FunctionName']}")
        assert group, f"no log group for {fid}"
        assert group["retentionInDays"] == int(stack.resolve(declared[0]["RetentionInDays"]))


# ---------------------------------------------------------------- queue -> renderer
def _sqs_consumers(stack):
    """(function id, event properties, queue id) for every SQS event source of the template."""
    return [
        (fid, event, _getatt_target(event["Queue"]))
        for fid in _of_type(stack.sam, FUNCTION)
        for event in _events(stack.sam, fid, "SQS").values()
    ]


def test_the_render_queue_feeds_the_renderer_in_batches_with_partial_failures(
    stack, function_configs, queue_attributes
):
    consumers = _sqs_consumers(stack)
    assert ("RendererFunction", "RenderQueue") in {(f, q) for f, _, q in consumers}
    mappings = stack.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    for fid, event, qid in consumers:
        queue_arn = queue_attributes[qid]["QueueArn"]
        mine = [
            m
            for m in mappings
            if m["EventSourceArn"] == queue_arn and m["FunctionArn"] == function_configs[fid]["FunctionArn"]
        ]
        assert len(mine) == 1, (fid, qid)
        mapping = mine[0]
        assert mapping["BatchSize"] == event["BatchSize"]
        assert mapping["MaximumBatchingWindowInSeconds"] == event["MaximumBatchingWindowInSeconds"]
        assert mapping["FunctionResponseTypes"] == event["FunctionResponseTypes"]
        assert "ReportBatchItemFailures" in mapping["FunctionResponseTypes"]  # the design's partial failures
        if "ScalingConfig" in event:
            assert mapping["ScalingConfig"] == event["ScalingConfig"]
        assert mapping["State"] == "Enabled"


def test_the_render_queue_redrives_to_its_dead_letter_queue(stack, queue_attributes):
    for _fid, _, qid in _sqs_consumers(stack):
        declared = stack.sam["Resources"][qid]["Properties"]["RedrivePolicy"]
        dlq = _getatt_target(declared["deadLetterTargetArn"])
        redrive = json.loads(queue_attributes[qid]["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == queue_attributes[dlq]["QueueArn"]
        assert int(redrive["maxReceiveCount"]) == int(stack.resolve(declared["maxReceiveCount"]))
        assert int(redrive["maxReceiveCount"]) >= 2  # one failed delivery must not dead-letter a render
        # the DLQ keeps a message longer than the source queue could, so nothing expires unseen
        assert int(queue_attributes[dlq]["MessageRetentionPeriod"]) > int(
            queue_attributes[qid]["MessageRetentionPeriod"]
        )


def test_queue_visibility_is_at_least_six_times_the_consumer_timeout(stack, function_configs, queue_attributes):
    for fid, _, qid in _sqs_consumers(stack):
        assert int(queue_attributes[qid]["VisibilityTimeout"]) >= 6 * function_configs[fid]["Timeout"], (qid, fid)


def test_every_queue_is_encrypted(queue_attributes):
    for qid, attributes in queue_attributes.items():
        assert attributes.get("SqsManagedSseEnabled") == "true" or "KmsMasterKeyId" in attributes, qid


# ---------------------------------------------------------------- table
def test_the_table_has_the_keys_and_indexes_of_the_template(stack):
    declared = stack.sam["Resources"]["DataTable"]["Properties"]
    table = stack.client("dynamodb").describe_table(TableName=stack.physical["DataTable"])["Table"]
    assert table["KeySchema"] == declared["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(declared["AttributeDefinitions"], key=str)
    assert table["BillingModeSummary"]["BillingMode"] == declared["BillingMode"]
    deployed_gsis = {g["IndexName"]: g for g in table.get("GlobalSecondaryIndexes", [])}
    assert set(deployed_gsis) == {g["IndexName"] for g in declared.get("GlobalSecondaryIndexes", [])}
    for gsi in declared.get("GlobalSecondaryIndexes", []):
        assert deployed_gsis[gsi["IndexName"]]["KeySchema"] == gsi["KeySchema"]
        assert deployed_gsis[gsi["IndexName"]]["Projection"] == gsi["Projection"]


def test_the_table_expires_records_is_recoverable_and_encrypted(stack):
    # moto's CloudFormation ignores these three properties (describe_time_to_live and
    # describe_continuous_backups report them disabled), so they are checked on the template.
    table = stack.cfn["Resources"]["DataTable"]
    ttl = table["Properties"]["TimeToLiveSpecification"]
    assert ttl["Enabled"] is True
    assert ttl["AttributeName"]
    assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True
    assert table.get("DeletionPolicy") == "Retain"
    assert table.get("UpdateReplacePolicy") == "Retain"


# ---------------------------------------------------------------- bucket
def test_the_bucket_is_encrypted(stack):
    declared = stack.sam["Resources"]["PdfBucket"]["Properties"]["BucketEncryption"]
    deployed = stack.client("s3").get_bucket_encryption(Bucket=stack.physical["PdfBucket"])
    algorithms = [
        r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
        for r in deployed["ServerSideEncryptionConfiguration"]["Rules"]
    ]
    assert algorithms == [
        r["ServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in declared["ServerSideEncryptionConfiguration"]
    ]


def test_the_bucket_blocks_public_access_and_accepts_only_tls(stack):
    # moto's CloudFormation ignores PublicAccessBlockConfiguration and skips AWS::S3::BucketPolicy:
    # both are checked on the transformed template.
    bucket = stack.cfn["Resources"]["PdfBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    policies = [
        p["Properties"]
        for p in _of_type(stack.cfn, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": "PdfBucket"}
    ]
    assert len(policies) == 1
    tls = [
        s
        for s in policies[0]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]
    assert len(tls) == 1
    assert tls[0]["Principal"] == "*"
    assert tls[0]["Action"] in ("s3:*", ["s3:*"])
    resources = _as_list(tls[0]["Resource"])
    assert {"Fn::GetAtt": ["PdfBucket", "Arn"]} in resources
    assert {"Fn::Sub": "${PdfBucket.Arn}/*"} in resources


# ---------------------------------------------------------------- schedule
def test_each_schedule_fires_its_function(stack, function_configs):
    events = stack.client("events")
    schedules = [
        (fid, name, event)
        for fid in _of_type(stack.sam, FUNCTION)
        for name, event in _events(stack.sam, fid, "Schedule").items()
    ]
    assert "CleanupFunction" in {fid for fid, _, _ in schedules}
    for fid, name, event in schedules:
        rule_id = f"{fid}{name}"  # SAM names the AWS::Events::Rule <Function><Event>
        assert stack.cfn["Resources"][rule_id]["Type"] == "AWS::Events::Rule"
        rule = events.describe_rule(Name=stack.physical[rule_id])
        assert rule["ScheduleExpression"] == event["Schedule"]
        assert rule["State"] == ("ENABLED" if event.get("Enabled", True) else "DISABLED")
        targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        assert [t["Arn"] for t in targets] == [function_configs[fid]["FunctionArn"]]
        permission = stack.cfn["Resources"][f"{rule_id}Permission"]["Properties"]
        assert permission["Principal"] == "events.amazonaws.com"
        assert permission["FunctionName"] == {"Ref": fid}


# ---------------------------------------------------------------- HTTP API
def test_the_http_api_routes_to_the_api_function_behind_the_jwt_authorizer(stack):
    # moto's CloudFormation skips AWS::ApiGatewayV2::*: the API is checked on the transformed template.
    api_id, api = next(iter(_of_type(stack.cfn, "AWS::ApiGatewayV2::Api").items()))
    body = api["Properties"]["Body"]
    source = stack.sam["Resources"][api_id]["Properties"]
    scheme_name = source["Auth"]["DefaultAuthorizer"]
    authorizer = body["components"]["securitySchemes"][scheme_name]["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "jwt"
    assert authorizer["jwtConfiguration"]["issuer"] == {"Ref": "JwtIssuer"}
    assert authorizer["jwtConfiguration"]["audience"] == [{"Ref": "JwtAudience"}]
    for fid in _of_type(stack.sam, FUNCTION):
        for name, event in _events(stack.sam, fid, "HttpApi").items():
            method = event["Method"].lower()
            operation = body["paths"][event["Path"]]["x-amazon-apigateway-any-method" if method == "any" else method]
            integration = operation["x-amazon-apigateway-integration"]
            assert f"${{{fid}.Arn}}" in integration["uri"]["Fn::Sub"]
            assert integration["payloadFormatVersion"] == "2.0"
            expected = event.get("Auth", {}).get("Authorizer", scheme_name)
            assert operation["security"] == [{expected: []}], (fid, name)
            assert f"{fid}{name}Permission" in stack.physical  # the invoke permission was created
    assert any(
        e.get("Auth", {}).get("Authorizer") == "NONE"
        for fid in _of_type(stack.sam, FUNCTION)
        for e in _events(stack.sam, fid, "HttpApi").values()
    ), "the health route is expected to be public"
    stage = next(iter(_of_type(stack.cfn, "AWS::ApiGatewayV2::Stage").values()))["Properties"]
    assert stage["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["HttpApiAccessLogs", "Arn"]}
    assert stage["DefaultRouteSettings"] == source["DefaultRouteSettings"]


def test_snapstart_functions_are_invoked_by_their_alias():
    # SnapStart applies to published versions only: what invokes such a function must name the alias
    # SAM publishes (AutoPublishAlias), or it would run $LATEST, which has no snapshot.
    sam = load_sam_template()
    cfn = transform(package(load_sam_template(), lambda key, body: f"s3://artifacts/{key}"), PARAMETERS)
    snapstart = {
        fid: _function_setting(sam, fid, "AutoPublishAlias")
        for fid in _of_type(sam, FUNCTION)
        if _function_setting(sam, fid, "SnapStart", {}).get("ApplyOn") == "PublishedVersions"
    }
    assert {"ApiFunction", "RendererFunction"} <= set(snapstart)
    assert all(snapstart.values()), "SnapStart without AutoPublishAlias"
    for fid, alias in snapstart.items():
        alias_id = f"{fid}Alias{alias}"
        assert cfn["Resources"][alias_id]["Type"] == "AWS::Lambda::Alias"
        assert cfn["Resources"][fid]["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        invokers = [
            resource
            for resource in cfn["Resources"].values()
            if resource["Type"] in ("AWS::Lambda::EventSourceMapping", "AWS::Lambda::Permission")
            and json.dumps(resource["Properties"]["FunctionName"])
            in (json.dumps({"Ref": fid}), json.dumps({"Ref": alias_id}))
        ]
        assert invokers, fid
        assert all(resource["Properties"]["FunctionName"] == {"Ref": alias_id} for resource in invokers), fid
        integrations = json.dumps(_of_type(cfn, "AWS::ApiGatewayV2::Api"))
        assert f"${{{fid}.Arn}}" not in integrations
        assert f"${{{fid}}}" not in integrations


# ---------------------------------------------------------------- IAM
def test_every_role_statement_names_specific_actions_and_resources(stack):
    iam = stack.client("iam")
    roles = _of_type(stack.cfn, "AWS::IAM::Role")
    assert {f"{fid}Role" for fid in _of_type(stack.sam, FUNCTION)} <= set(roles)
    for rid, role in roles.items():
        name = stack.physical[rid]
        policy_names = iam.list_role_policies(RoleName=name)["PolicyNames"]
        assert len(policy_names) == len(role["Properties"].get("Policies", [])), rid
        for policy_name in policy_names:
            document = _document(iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"])
            for statement in _as_list(document["Statement"]):
                assert statement["Effect"] == "Allow", (rid, statement)
                assert "NotAction" not in statement, (rid, statement)
                assert "NotResource" not in statement, (rid, statement)
                for action in _as_list(statement["Action"]):
                    assert not WILDCARD_ACTION.match(action), (rid, policy_name, action)
                for resource in _as_list(statement["Resource"]):
                    assert resource != "*", (rid, policy_name, statement)
        trust = _document(iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"])
        services = [_as_list(s["Principal"]["Service"]) for s in trust["Statement"]]
        assert services == [["lambda.amazonaws.com"]] or rid in APPSYNC_ROLES, rid
        assert services == [["appsync.amazonaws.com"]] or rid not in APPSYNC_ROLES, rid
        # moto ignores ManagedPolicyArns: read from the transformed template
        managed = set(role["Properties"].get("ManagedPolicyArns", []))
        assert managed <= ALLOWED_MANAGED_POLICIES, (rid, managed - ALLOWED_MANAGED_POLICIES)


def test_the_policies_attached_apart_name_specific_actions_and_resources(stack):
    # moto skips AWS::IAM::RolePolicy: read from the transformed template
    for pid, policy in _of_type(stack.cfn, "AWS::IAM::RolePolicy").items():
        for statement in _as_list(policy["Properties"]["PolicyDocument"]["Statement"]):
            assert statement["Effect"] == "Allow", pid
            assert not any(WILDCARD_ACTION.match(action) for action in _as_list(statement["Action"])), pid
            assert all(resource != "*" for resource in _as_list(statement["Resource"])), pid


def test_the_sqs_consumer_role_gets_the_queue_execution_policy(stack):
    for fid, _, _ in _sqs_consumers(stack):
        managed = stack.cfn["Resources"][f"{fid}Role"]["Properties"]["ManagedPolicyArns"]
        assert "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole" in managed


def test_the_only_wildcard_statement_is_the_tls_deny(stack):
    for rid, resource in stack.cfn["Resources"].items():
        documents = []
        if resource["Type"] in (
            "AWS::S3::BucketPolicy",
            "AWS::SQS::QueuePolicy",
            "AWS::IAM::Policy",
            "AWS::IAM::ManagedPolicy",
        ):
            documents.append(resource["Properties"]["PolicyDocument"])
        for policy in (
            resource.get("Properties", {}).get("Policies", []) if resource["Type"] == "AWS::IAM::Role" else []
        ):
            documents.append(policy["PolicyDocument"])
        for document in documents:
            for statement in _as_list(document["Statement"]):
                actions = [a for a in _as_list(statement.get("Action", [])) if isinstance(a, str)]
                wild = any(WILDCARD_ACTION.match(a) for a in actions) or "*" in _as_list(statement.get("Resource"))
                if wild:
                    assert statement["Effect"] == "Deny", (rid, statement)
                    assert statement["Condition"]["Bool"]["aws:SecureTransport"] == "false", (rid, statement)


# ---------------------------------------------------------------- alarms (checked on the template)
def test_alarms_watch_the_dead_letter_queue_queue_age_renderer_errors_and_api_5xx_and_notify_the_topic(stack):
    alarms = {
        lid: r["Properties"] for lid, r in stack.cfn["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    watched = {(p.get("Namespace"), p.get("MetricName")) for p in alarms.values()}
    assert {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("AWS/Lambda", "Errors"),
    } <= watched
    math = [p for p in alarms.values() if "Metrics" in p]
    assert any("5xx" in str(p["Metrics"]) and "Count" in str(p["Metrics"]) for p in math)
    for properties in alarms.values():
        assert properties["AlarmActions"] == {
            "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        }


def test_the_web_app_is_served_by_cloudfront_from_a_private_bucket_with_the_api_on_the_same_origin(stack):
    resources = stack.cfn["Resources"]
    config = resources["WebDistribution"]["Properties"]["DistributionConfig"]
    origins = {origin["Id"]: origin for origin in config["Origins"]}
    # The bucket is read through Origin Access Control only, never as a public website
    assert origins["web"]["OriginAccessControlId"] == {"Fn::GetAtt": ["WebOriginAccessControl", "Id"]}
    assert origins["web"]["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    access = resources["WebBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    assert all(access.values())
    (read,) = [
        s for s in resources["WebBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
    ]
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert read["Action"] == "s3:GetObject"
    assert "AWS:SourceArn" in read["Condition"]["StringEquals"]
    # /api/* goes to the HTTP API, uncached, with every method and the viewer's headers (Authorization)
    (api,) = config["CacheBehaviors"]
    assert (api["PathPattern"], api["TargetOriginId"], api["ViewerProtocolPolicy"]) == ("/api/*", "api", "https-only")
    assert {"POST", "PATCH", "DELETE"} <= set(api["AllowedMethods"])
    assert "execute-api" in json.dumps(origins["api"]["DomainName"])
    # the app's own paths are index.html, on the web behaviour only
    (rewrite,) = config["DefaultCacheBehavior"]["FunctionAssociations"]
    assert rewrite["EventType"] == "viewer-request"
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"


# ---------------------------------------------------------------- webhooks: stream -> notifier -> queue -> delivery
CRYPTO_ACTIONS = {"kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey"}


def test_the_table_streams_to_the_notifier_with_filters_partial_failures_bisect_and_a_destination(
    stack, function_configs, queue_attributes
):
    table = stack.client("dynamodb").describe_table(TableName=stack.physical["DataTable"])["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    mappings = [
        m
        for m in stack.client("lambda").list_event_source_mappings()["EventSourceMappings"]
        if m["EventSourceArn"] == table["LatestStreamArn"]
    ]
    assert [m["FunctionArn"] for m in mappings] == [function_configs["NotifierFunction"]["FunctionArn"]]
    (event,) = _events(stack.sam, "NotifierFunction", "DynamoDB").values()
    mapping = mappings[0]
    for key in ("StartingPosition", "BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes"):
        assert mapping[key] == event[key], key
    for key in ("BisectBatchOnFunctionError", "MaximumRetryAttempts", "MaximumRecordAgeInSeconds"):
        assert mapping[key] == event[key], key
    assert "ReportBatchItemFailures" in mapping["FunctionResponseTypes"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] >= 0  # a poison record cannot hold the shard for 24 hours
    destination = _getatt_target(event["DestinationConfig"]["OnFailure"]["Destination"])
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == queue_attributes[destination]["QueueArn"]
    patterns = [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]]
    assert patterns == [json.loads(f["Pattern"]) for f in event["FilterCriteria"]["Filters"]]
    snapshot = {"entity": {"S": ["snapshot"]}}
    assert {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"NewImage": snapshot}} in patterns
    assert {"eventName": ["REMOVE"], "dynamodb": {"OldImage": snapshot}} in patterns


def test_the_webhook_queue_keeps_messages_for_the_whole_retry_schedule(stack, queue_attributes):
    from roomsnap.config import Settings

    schedule = Settings.model_fields["webhook_retry_schedule_seconds"].default
    jitter = Settings.model_fields["webhook_retry_jitter"].metadata[-1].le  # the largest jitter allowed
    # every delay at its longest, or every one replaced by the longest a Retry-After may ask for
    longest = max(sum(schedule) * (1 + jitter), len(schedule) * max(schedule))
    assert int(queue_attributes["WebhookQueue"]["MessageRetentionPeriod"]) > longest
    assert max(schedule) * (1 + jitter) < 43_200  # each wait fits SQS's 12-hour visibility limit


def test_only_the_api_encrypts_and_only_the_delivery_function_decrypts_webhook_secrets(stack):
    key = stack.cfn["Resources"]["WebhookSecretKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    users = {}
    for statement in key["KeyPolicy"]["Statement"]:
        actions = set(_as_list(statement["Action"]))
        assert statement["Effect"] == "Allow"
        assert not any(WILDCARD_ACTION.match(action) for action in actions), statement
        if actions & CRYPTO_ACTIONS:
            users[_getatt_target(statement["Principal"]["AWS"])] = actions
    assert users == {"ApiFunctionRole": {"kms:Encrypt"}, "DeliveryFunctionRole": {"kms:Decrypt"}}
    # the functions that use the key are told its id (moto keeps the deployed key's policy as a
    # dict, so its describe_key fails: the key is checked by its physical id)
    assert stack.physical["WebhookSecretKey"]
    environments = {fid: _function_environment(stack.sam, fid) for fid in _of_type(stack.sam, FUNCTION)}
    assert {f"{fid}Role" for fid, env in environments.items() if "WEBHOOK_KEY_ID" in env} == set(users)


def test_only_the_renderer_signs_pdfs_with_an_asymmetric_key_it_names_by_alias(stack):
    key = stack.cfn["Resources"]["SigningKey"]["Properties"]
    assert (key["KeySpec"], key["KeyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")
    assert "EnableKeyRotation" not in key  # asymmetric keys do not rotate themselves (docs/signing.md)
    signers = {}
    for statement in key["KeyPolicy"]["Statement"]:
        actions = set(_as_list(statement["Action"]))
        assert statement["Effect"] == "Allow"
        assert not any(WILDCARD_ACTION.match(action) for action in actions), statement
        if "kms:Sign" in actions:
            signers[_getatt_target(statement["Principal"]["AWS"])] = statement["Condition"]["StringEquals"]
    assert signers == {"RendererFunctionRole": {"kms:SigningAlgorithm": "ECDSA_SHA_256", "kms:MessageType": "RAW"}}
    alias = stack.cfn["Resources"]["SigningKeyAlias"]["Properties"]
    assert alias["TargetKeyId"] == {"Ref": "SigningKey"}
    environments = {fid: _function_environment(stack.sam, fid) for fid in _of_type(stack.sam, FUNCTION)}
    assert {fid for fid, env in environments.items() if "SIGNING_KEY_ID" in env} == {"RendererFunction"}
    assert environments["RendererFunction"]["SIGNING_KEY_ID"] == {"Ref": "SigningKeyAlias"}


def test_verification_is_a_public_route_of_its_own_function_with_its_own_throttle(stack):
    events = _events(stack.sam, "VerifyFunction", "HttpApi")
    assert [(e["Method"], e["Path"], e["Auth"]["Authorizer"]) for e in events.values()] == [
        ("POST", "/api/v1/verify", "NONE")
    ]
    source = stack.sam["Resources"]["HttpApi"]["Properties"]
    assert (
        source["RouteSettings"]["POST /api/v1/verify"]["ThrottlingRateLimit"]
        < source["DefaultRouteSettings"]["ThrottlingRateLimit"]
    )
    environment = _function_environment(stack.sam, "VerifyFunction")
    assert environment["JWT_ISSUER"] == {"Ref": "JwtIssuer"}
    assert environment["JWT_AUDIENCE"] == {"Ref": "JwtAudience"}
