"""Intrinsic resolution and Globals merging, against the real template.yaml."""

from pathlib import Path

import pytest

from infra.template import ACCOUNT_ID, STACK_NAME, Template, TemplateError, merge_globals

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def template():
    return Template(ROOT / "template.yaml")


def test_function_environment_resolves_refs_to_the_stack_resources(template):
    environment = template.function("RendererFunction").environment

    assert environment["TABLE_NAME"] == f"{STACK_NAME}-DataTable"
    assert environment["BUCKET_NAME"] == f"{STACK_NAME}-pdfbucket"  # bucket names are lowercase
    assert environment["RENDER_QUEUE_URL"] == (
        f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT_ID}/{STACK_NAME}-RenderQueue"
    )
    assert environment["MEMORY_CACHE_MB"] == "64"  # a parameter default, as a string
    assert environment["POWERTOOLS_SERVICE_NAME"] == "room-snapshots"  # from Globals


def test_globals_merge_with_function_properties(template):
    renderer = template.function("RendererFunction")
    api = template.function("ApiFunction")

    assert (renderer.timeout, renderer.memory_size) == (30, 1024)  # its own values win
    assert api.memory_size == 512  # from Globals
    assert api.environment["ADMIN_GROUP"] == "admin"  # merged with the Globals variables
    assert "TABLE_NAME" in api.environment
    assert renderer.layer_dirs == [ROOT / "layers" / "common" / "python"]
    assert renderer.code_dir == ROOT / "functions" / "renderer"
    assert renderer.name == f"{STACK_NAME}-RendererFunction"


def test_parameter_overrides_and_recorded_attributes_take_effect():
    template = Template(ROOT / "template.yaml", parameter_overrides={"MemoryCacheMb": 8})
    template.record("RenderQueue", Ref="http://127.0.0.1:5000/123456789012/q")

    environment = template.function("RendererFunction").environment

    assert environment["MEMORY_CACHE_MB"] == "8"
    assert environment["RENDER_QUEUE_URL"] == "http://127.0.0.1:5000/123456789012/q"


def test_sub_getatt_and_pseudo_parameters(template):
    assert template.resolve({"Fn::Sub": "${PdfBucket.Arn}/*"}) == f"arn:aws:s3:::{STACK_NAME}-pdfbucket/*"
    assert template.resolve({"Fn::Sub": "/aws/lambda/${ApiFunction}"}) == f"/aws/lambda/{STACK_NAME}-ApiFunction"
    assert template.resolve({"Fn::Sub": ["${AWS::Region}-${X}-${!Literal}", {"X": "x"}]}) == "us-east-1-x-${Literal}"
    assert template.resolve({"Fn::GetAtt": ["RenderQueue", "QueueName"]}) == f"{STACK_NAME}-RenderQueue"
    assert template.resolve({"Fn::GetAtt": "DataTable.Arn"}) == (
        f"arn:aws:dynamodb:us-east-1:{ACCOUNT_ID}:table/{STACK_NAME}-DataTable"
    )
    assert template.resolve({"Fn::Join": ["-", [{"Ref": "AWS::StackName"}, "x"]]}) == f"{STACK_NAME}-x"
    assert template.resolve({"Fn::Select": [1, ["a", {"Ref": "AWS::Partition"}]]}) == "aws"


def test_parameter_without_default_needs_a_value(template):
    with pytest.raises(TemplateError, match="JwtIssuer"):
        template.resolve({"Ref": "JwtIssuer"})
    with pytest.raises(TemplateError, match="unknown parameters"):
        template.set_parameters({"NoSuchParameter": "x"})


def test_dependency_order_puts_referenced_resources_first(template):
    order = template.dependency_order()

    assert order.index("RenderDeadLetterQueue") < order.index("RenderQueue")
    assert order.index("PdfBucket") < order.index("PdfBucketPolicy")


def test_merge_globals_follows_sam_rules():
    merged = merge_globals(
        {"Timeout": 10, "Layers": ["a"], "Environment": {"Variables": {"A": "1", "B": "1"}}},
        {"Timeout": 30, "Layers": ["b"], "Environment": {"Variables": {"B": "2"}}},
    )

    assert merged == {"Timeout": 30, "Layers": ["a", "b"], "Environment": {"Variables": {"A": "1", "B": "2"}}}


def test_conditions_and_fn_if_resolve_as_cloudformation_does():
    template = Template(ROOT / "template.yaml")
    alarm = template.raw["Resources"]["DeadLetterQueueAlarm"]["Properties"]
    assert "AlarmActions" not in template.resolve(alarm)  # no topic: Fn::If picks AWS::NoValue
    template.set_parameters({"AlarmTopicArn": "arn:aws:sns:us-east-1:123456789012:ops"})
    assert template.resolve(alarm)["AlarmActions"] == ["arn:aws:sns:us-east-1:123456789012:ops"]
