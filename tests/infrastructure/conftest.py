"""Fixtures for the infrastructure checks: template.yaml transformed by the SAM translator (offline)
and deployed into moto's CloudFormation over HTTP.

Isolation: the moto server runs in this process, and moto's backends are process-global, so every
request of these fixtures carries `x-moto-account-id` for an account of its own: nothing here sees,
or is seen by, the resources other tests create on another moto server in the same pytest run.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import uuid
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from template_emulator.template import getatt_target

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
REGION = "us-east-1"
ACCOUNT_ID = "000000009001"  # moto account of these tests only
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# Values for the template's parameters without a default (the rest keep their defaults).
PARAMETERS = {"JwtIssuer": "https://issuer.example.test/", "JwtAudience": "room-snapshots-tests"}
# Code packaging: only these files go into the zips uploaded to moto (Lambda cannot run code here;
# the zip only has to exist). Fonts and caches stay out, so the upload stays ~100 kB.
PACKAGED_SUFFIXES = {".py", ".txt"}
CODE_PROPERTY = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


class StubManagedPolicyLoader:
    """The translator's boundary to IAM: maps managed-policy *names* used in a function's Policies to
    ARNs. Offline we answer from a fixed map instead of calling iam:ListPolicies (the policy ARNs the
    translator adds for event sources, like AWSLambdaSQSQueueExecutionRole, never go through it)."""

    KNOWN = {
        name: f"arn:aws:iam::aws:policy/{path}{name}"
        for path, name in [
            ("service-role/", "AWSLambdaBasicExecutionRole"),
            ("service-role/", "AWSLambdaSQSQueueExecutionRole"),
            ("", "AWSXrayWriteOnlyAccess"),
        ]
    }

    def __init__(self) -> None:
        self.calls = 0

    def load(self) -> dict[str, str]:
        self.calls += 1
        return dict(self.KNOWN)


def load_sam_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """template.yaml as plain dicts, with short-form intrinsics (!Ref, !Sub...) expanded."""
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(path.read_text())


def _zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in PACKAGED_SUFFIXES and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(folder))
    return buffer.getvalue()


def package(sam: dict[str, Any], upload) -> dict[str, Any]:
    """What `sam package` does: each local CodeUri/ContentUri becomes an s3:// URI of a zip."""
    for logical_id, resource in sam["Resources"].items():
        key = CODE_PROPERTY.get(resource["Type"])
        uri = resource.get("Properties", {}).get(key) if key else None
        if isinstance(uri, str) and not uri.startswith("s3://"):
            folder = (ROOT / uri).resolve()
            assert folder.is_dir(), f"{logical_id} {key} {uri} is not a folder"
            resource["Properties"][key] = upload(f"{logical_id}.zip", _zip_folder(folder))
    return sam


def transform(sam: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """SAM -> CloudFormation with the translator library, offline. The translator needs a region
    (it reads it from a boto3 session to pick the partition), nothing else from AWS."""
    from samtranslator.translator.transform import transform as sam_transform

    with mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}):
        return sam_transform(sam, dict(parameters), StubManagedPolicyLoader())


@dataclass
class Stack:
    name: str
    sam: dict[str, Any]  # template.yaml as written
    cfn: dict[str, Any]  # after the SAM transform (what CloudFormation receives)
    parameters: dict[str, str]  # every parameter's value (given or default)
    physical: dict[str, str]  # logical id -> physical id, from the stack's resources
    skipped_types: set[str]  # resource types moto's CloudFormation did not create
    _session: Any = field(repr=False)
    _url: str = field(repr=False)

    def client(self, service: str):
        client = self._session.client(service, endpoint_url=self._url)
        client.meta.events.register("before-send.*.*", _in_test_account)
        return client

    def resolve(self, value: Any) -> Any:
        """A template value as the deployed stack sees it: parameter and resource Refs and Fn::If resolved."""
        if isinstance(value, dict) and list(value) == ["Fn::If"]:
            condition, when_true, when_false = value["Fn::If"]
            return self.resolve(when_true if self.condition(condition) else when_false)
        if isinstance(value, dict) and list(value) == ["Ref"]:
            name = value["Ref"]
            if name in self.parameters:
                return self.parameters[name]
            if name in self.physical:
                return self.physical[name]
            raise KeyError(f"cannot resolve Ref {name}")
        if isinstance(value, dict) and list(value) == ["Fn::Sub"] and isinstance(value["Fn::Sub"], str):
            names = {"AWS::StackName": self.name, **self.parameters}
            return re.sub(r"\$\{([^}]+)\}", lambda match: str(names[match.group(1)]), value["Fn::Sub"])
        if isinstance(value, dict) and list(value) == ["Fn::GetAtt"]:  # of a resource moto lacks (see below)
            return placeholder(*getatt_target(value["Fn::GetAtt"]))
        return value

    def condition(self, name: str) -> bool:
        """The template's conditions use Fn::Equals and Fn::Not over Refs."""
        expression = self.sam["Conditions"][name]
        negate = "Fn::Not" in expression
        left, right = (expression["Fn::Not"][0] if negate else expression)["Fn::Equals"]
        return (self.resolve(left) == self.resolve(right)) != negate


def _in_test_account(request, **_):
    request.headers["x-moto-account-id"] = ACCOUNT_ID


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's server on 127.0.0.1 and a free port; stopped (and its socket closed) afterwards."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        server._server.server_close()


# Resource types moto's CloudFormation skips whose attributes the template reads: moto refuses the whole
# stack for such a reference ("references undefined resource"), though AWS resolves it. Outputs that read
# one are left out; in resources, the attribute becomes a placeholder ("<EventsApi.Dns.Http>").
ATTRIBUTES_MOTO_LACKS = {
    "AWS::CloudFront::Distribution",
    "AWS::AppSync::Api",
    "AWS::AppSync::ChannelNamespace",
    "AWS::AppSync::DataSource",
}


def placeholder(logical_id: str, attribute: str) -> str:
    """What an attribute of a resource moto lacks reads as, in the deployed stack and in expectations."""
    return f"<{logical_id}.{attribute}>"


def unaliased(cfn: dict) -> dict:
    """moto's CloudFormation skips AWS::Lambda::Alias (SAM makes one per AutoPublishAlias) and its
    AWS::Lambda::Version has no Ref: a Ref to an alias becomes a Ref to its function, whose $LATEST
    is, in a new stack, the code the alias's version was published from. (That events and routes
    name the alias is checked on the transformed template: test_snapstart_functions_are_invoked_by_their_alias.)"""
    functions = {
        lid: resource["Properties"]["FunctionName"]["Ref"]
        for lid, resource in cfn["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Alias"
    }
    pattern = re.compile(r"\$\{(" + "|".join(map(re.escape, sorted(functions))) + r")\}") if functions else None

    def replaced(value):
        if isinstance(value, list):
            return [replaced(item) for item in value]
        if not isinstance(value, dict):
            return value
        if list(value) == ["Ref"] and value["Ref"] in functions:
            return {"Ref": functions[value["Ref"]]}
        if pattern and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
            return {"Fn::Sub": pattern.sub(lambda m: "${" + functions[m[1]] + ".Arn}", value["Fn::Sub"])}
        return {key: replaced(item) for key, item in value.items()}

    return {**cfn, "Resources": replaced(cfn["Resources"])}


def without_attributes_moto_lacks(cfn: dict) -> dict:
    lacking = {lid for lid, resource in cfn["Resources"].items() if resource["Type"] in ATTRIBUTES_MOTO_LACKS}
    outputs = {
        name: output
        for name, output in cfn.get("Outputs", {}).items()
        if not any(f"${{{lid}." in json.dumps(output) or f'"{lid}"' in json.dumps(output) for lid in lacking)
    }

    lacking_attribute = re.compile(r"\$\{(" + "|".join(map(re.escape, sorted(lacking))) + r")\.([^}]+)\}")

    def placeholders(value):
        if isinstance(value, list):
            return [placeholders(item) for item in value]
        if not isinstance(value, dict):
            return value
        if "Fn::GetAtt" in value:
            logical_id, attribute = getatt_target(value["Fn::GetAtt"])
            if logical_id in lacking:
                return placeholder(logical_id, attribute)
        if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
            return {"Fn::Sub": lacking_attribute.sub(lambda m: placeholder(m[1], m[2]), value["Fn::Sub"])}
        return {key: placeholders(item) for key, item in value.items()}

    return {**cfn, "Resources": placeholders(cfn["Resources"]), "Outputs": outputs}


@pytest.fixture(scope="session")
def deployed_stack(moto_endpoint) -> Stack:
    session = boto3.session.Session(region_name=REGION, **CREDENTIALS)
    name = f"room-snapshots-infra-{uuid.uuid4().hex[:8]}"
    stack = Stack(name, load_sam_template(), {}, {}, {}, set(), session, moto_endpoint)

    s3 = stack.client("s3")
    artifacts = f"{name}-artifacts"
    s3.create_bucket(Bucket=artifacts)

    def upload(key: str, body: bytes) -> str:
        s3.put_object(Bucket=artifacts, Key=key, Body=body)
        return f"s3://{artifacts}/{key}"

    stack.cfn = unaliased(without_attributes_moto_lacks(transform(package(load_sam_template(), upload), PARAMETERS)))
    stack.parameters = {
        key: str(spec["Default"]) for key, spec in stack.sam.get("Parameters", {}).items() if "Default" in spec
    } | PARAMETERS

    cloudformation = stack.client("cloudformation")
    # moto warns (UserWarning) for every resource type its CloudFormation skips, on each parse:
    # record them here, to know which types were skipped, instead of cluttering the test report.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cloudformation.create_stack(
            StackName=name,
            TemplateBody=json.dumps(stack.cfn),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in PARAMETERS.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        described = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        summaries = [
            r
            for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name)
            for r in page["StackResourceSummaries"]
        ]
    assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
    stack.skipped_types = {
        resource["Type"]
        for resource in stack.cfn["Resources"].values()
        if any(f"parse {resource['Type']} but it's not supported" in str(w.message) for w in caught)
    }
    stack.physical = {
        r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in summaries if r.get("LogicalResourceId")
    }
    return stack
