"""Intrinsic resolution and Globals merging, against the fixture template."""

from pathlib import Path

import pytest

from template_emulator.template import ACCOUNT_ID, Template, TemplateError, merge_globals

FIXTURES = Path(__file__).parent / "fixtures"
STACK = "fixture-stack"


@pytest.fixture(scope="module")
def template():
    template = Template(FIXTURES / "template.yaml", stack_name=STACK)
    template.set_parameters({"Issuer": "http://127.0.0.1:3000/_local/oidc", "Audience": "fixture"})
    return template


def test_function_environment_resolves_refs_to_the_stack_resources(template):
    environment = template.function("ConsumerFunction").environment

    assert environment["TABLE_NAME"] == f"{STACK}-Table"  # from Globals
    assert environment["FILES"] == f"arn:aws:s3:::{STACK}-filesbucket/*"  # bucket names are lowercase
    assert environment["GREETING"] == "hello"  # a parameter default, as a string
    assert environment["ISSUER"] == "http://127.0.0.1:3000/_local/oidc"


def test_globals_merge_with_function_properties(template):
    consumer, echo = template.function("ConsumerFunction"), template.function("EchoFunction")

    assert (consumer.timeout, consumer.memory_size) == (5, 512)  # its own memory wins, the timeout from Globals
    assert (echo.timeout, echo.memory_size) == (2, 256)
    assert {"TABLE_NAME", "FILES"} <= set(consumer.environment)  # variables merged
    assert consumer.layer_dirs == [FIXTURES / "layer"]
    assert consumer.code_dir == FIXTURES / "handlers"
    assert consumer.name == f"{STACK}-ConsumerFunction"


def test_parameter_overrides_and_recorded_attributes_take_effect():
    template = Template(FIXTURES / "template.yaml", stack_name=STACK, parameter_overrides={"Greeting": "hej"})
    template.set_parameters({"Issuer": "i", "Audience": "a"})
    template.record("Table", Ref="recorded-table")

    environment = template.function("EchoFunction").environment

    assert environment["GREETING"] == "hej"
    assert environment["TABLE_NAME"] == "recorded-table"


def test_sub_getatt_and_pseudo_parameters(template):
    assert template.resolve({"Fn::Sub": "${FilesBucket.Arn}/*"}) == f"arn:aws:s3:::{STACK}-filesbucket/*"
    assert template.resolve({"Fn::Sub": "/aws/lambda/${EchoFunction}"}) == f"/aws/lambda/{STACK}-EchoFunction"
    assert template.resolve({"Fn::Sub": ["${AWS::Region}-${X}-${!Literal}", {"X": "x"}]}) == "us-east-1-x-${Literal}"
    assert template.resolve({"Fn::GetAtt": ["WorkQueue", "QueueName"]}) == f"{STACK}-WorkQueue"
    assert (
        template.resolve({"Fn::GetAtt": "Table.Arn"}) == f"arn:aws:dynamodb:us-east-1:{ACCOUNT_ID}:table/{STACK}-Table"
    )
    assert template.resolve({"Fn::Join": ["-", [{"Ref": "AWS::StackName"}, "x"]]}) == f"{STACK}-x"
    assert template.resolve({"Fn::Select": [1, ["a", {"Ref": "AWS::Partition"}]]}) == "aws"


def test_parameter_without_default_needs_a_value():
    template = Template(FIXTURES / "template.yaml")
    with pytest.raises(TemplateError, match="Issuer"):
        template.resolve({"Ref": "Issuer"})
    with pytest.raises(TemplateError, match="unknown parameters"):
        template.set_parameters({"NoSuchParameter": "x"})


def test_dependency_order_puts_referenced_resources_first(template):
    order = template.dependency_order()

    assert order.index("WorkDeadLetterQueue") < order.index("WorkQueue")
    assert order.index("FilesBucket") < order.index("SiteDistribution")


def test_merge_globals_follows_sam_rules():
    merged = merge_globals(
        {"Timeout": 10, "Layers": ["a"], "Environment": {"Variables": {"A": "1", "B": "1"}}},
        {"Timeout": 30, "Layers": ["b"], "Environment": {"Variables": {"B": "2"}}},
    )

    assert merged == {"Timeout": 30, "Layers": ["a", "b"], "Environment": {"Variables": {"A": "1", "B": "2"}}}


def test_conditions_and_fn_if_resolve_as_cloudformation_does(template):
    alarm = template.raw["Resources"]["WorkAlarm"]["Properties"]
    assert "AlarmActions" not in template.resolve(alarm)  # no topic: Fn::If picks AWS::NoValue
    template.set_parameters({"AlarmTopicArn": "arn:aws:sns:us-east-1:123456789012:ops"})
    assert template.resolve(alarm)["AlarmActions"] == ["arn:aws:sns:us-east-1:123456789012:ops"]
    template.set_parameters({"AlarmTopicArn": ""})
