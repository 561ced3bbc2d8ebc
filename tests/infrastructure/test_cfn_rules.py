"""The custom cfn-lint rules (cfn_rules/): the real template is clean, each bad fixture fires exactly
its own rule on exactly the resources it was written to break, and breaking the real template in
one place fires the rule that guards that place.

One cfn-lint process lints everything (about a second), as `make lint` would run it.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
RULES = ROOT / "cfn_rules"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CFN_LINT = str(Path(sys.executable).with_name("cfn-lint"))
CUSTOM_IDS = {"E9001", "E9002", "E9003", "E9004"}

# fixture -> the (rule, resource) pairs it must fire, and nothing else of ours
EXPECTED = {
    "e9001_function_log_group.yaml": {
        ("E9001", "NoGroupFunction"),
        ("E9001", "NoRetentionFunctionLogs"),
        ("E9001", "WrongNameFunction"),
        ("E9001", "PlainFunction"),
    },
    "e9002_queue_redrive.yaml": {
        ("E9002", "WorkQueue"),
        ("E9002", "LonelyQueue"),
        ("E9002", "PartialQueue"),
    },
    "e9003_iam_wildcards.yaml": {
        ("E9003", "AdminRole"),
        ("E9003", "S3EverythingPolicy"),
        ("E9003", "NotActionPolicy"),
        ("E9003", "InlineStarFunction"),
    },
    "e9004_s3_bucket.yaml": {
        ("E9004", "OpenBucket"),
        ("E9004", "LeakyBucket"),
        ("E9004", "NoTlsBucketPolicy"),
        ("E9004", "HalfTlsBucketPolicy"),
    },
}


def _mutations(template: dict) -> dict[str, tuple[dict, set[str]]]:
    """Copies of the real template, each broken in one place, with the custom rules that must fire."""
    resources = template["Resources"]
    functions = [name for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"]
    queues = [
        name
        for name, r in resources.items()
        if r["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in r.get("Properties", {})
    ]
    buckets = [name for name, r in resources.items() if r["Type"] == "AWS::S3::Bucket"]
    bucket_policies = [name for name, r in resources.items() if r["Type"] == "AWS::S3::BucketPolicy"]
    assert all((functions, queues, buckets, bucket_policies)), "the template lost what these rules guard"

    out: dict[str, tuple[dict, set[str]]] = {}

    t = copy.deepcopy(template)  # a function's log group disappears
    function = functions[0]
    for name, r in list(t["Resources"].items()):
        if r["Type"] == "AWS::Logs::LogGroup" and function in json.dumps(r["Properties"].get("LogGroupName")):
            del t["Resources"][name]
    out["no_log_group"] = (t, {"E9001"})

    t = copy.deepcopy(template)  # the render queue stops redriving to its DLQ
    del t["Resources"][queues[0]]["Properties"]["RedrivePolicy"]
    out["no_redrive"] = (t, {"E9002"})

    t = copy.deepcopy(template)  # the TLS-only Deny becomes an Allow of s3:*
    for statement in t["Resources"][bucket_policies[0]]["Properties"]["PolicyDocument"]["Statement"]:
        statement["Effect"] = "Allow"
    out["allow_all_s3"] = (t, {"E9003", "E9004"})

    t = copy.deepcopy(template)  # one public access flag is switched off
    t["Resources"][buckets[0]]["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] = False
    out["public_policy"] = (t, {"E9004"})

    t = copy.deepcopy(template)  # a function's inline policy grants every action on its table
    for name in functions:
        policies = t["Resources"][name]["Properties"].setdefault("Policies", [])
        policies.append(
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "dynamodb:*", "Resource": {"Fn::GetAtt": ["DataTable", "Arn"]}}
                ]
            }
        )
        break
    out["dynamodb_star"] = (t, {"E9003"})
    return out


@pytest.fixture(scope="module")
def lint(tmp_path_factory):
    """Runs cfn-lint once over the template, the fixtures and the mutated templates."""
    template = cfn_yaml.load(str(TEMPLATE))
    folder = tmp_path_factory.mktemp("mutations")
    mutations = _mutations(template)
    files = [str(TEMPLATE)] + [str(FIXTURES / name) for name in EXPECTED]
    for name, (mutated, _) in mutations.items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(mutated))
        files.append(str(path))
    result = subprocess.run(
        [CFN_LINT, "--format", "json", *files, "--append-rules", str(RULES)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip(), result.stderr
    by_file: dict[str, list[dict]] = {}
    for match in json.loads(result.stdout):
        by_file.setdefault(Path(match["Filename"]).name, []).append(match)
    return by_file, {f"{name}.json": expected for name, (_, expected) in mutations.items()}


def _custom(matches: list[dict]) -> set[tuple[str, str]]:
    return {(m["Rule"]["Id"], m["Location"]["Path"][1]) for m in matches if m["Rule"]["Id"] in CUSTOM_IDS}


def test_the_rules_load_with_the_ids_we_document():
    listed = subprocess.run(
        [CFN_LINT, "--list-rules", "--append-rules", str(RULES)], capture_output=True, text=True, timeout=60
    ).stdout
    for rule_id in CUSTOM_IDS:
        assert f"{rule_id}:" in listed


def test_the_real_template_is_clean(lint):
    by_file, _ = lint
    # Given the real template, When linted with every built-in and custom rule, Then nothing fires
    assert by_file.get(TEMPLATE.name, []) == []


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_each_rule_fires_on_exactly_what_its_fixture_breaks(lint, fixture):
    by_file, _ = lint
    matches = by_file.get(fixture, [])
    assert _custom(matches) == EXPECTED[fixture], [m["Message"] for m in matches]
    # and the fixture is otherwise a valid template (no built-in errors muddy the check)
    assert [m["Message"] for m in matches if m["Rule"]["Id"] not in CUSTOM_IDS and m["Level"] == "Error"] == []
    for match in matches:
        if match["Rule"]["Id"] in CUSTOM_IDS:
            assert match["Location"]["Start"]["LineNumber"] > 1  # points at the offending line


def test_breaking_the_real_template_fires_the_rule_that_guards_it(lint):
    by_file, mutations = lint
    for name, expected in mutations.items():
        fired = {rule for rule, _ in _custom(by_file.get(name, []))}
        assert fired == expected, (name, [m["Message"] for m in by_file.get(name, [])])


def test_the_tls_only_deny_is_the_only_wildcard_and_is_allowed():
    # The real bucket policy denies s3:* without TLS: E9003 must accept it, and it must be there.
    template = cfn_yaml.load(str(TEMPLATE))
    denies = [
        s
        for r in template["Resources"].values()
        if r["Type"] == "AWS::S3::BucketPolicy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]
    assert denies
    assert all(s["Action"] in ("s3:*", ["s3:*"]) for s in denies)
