"""E9003: least privilege - no wildcard actions or resources in an Allow statement."""

from __future__ import annotations

import re

from cfnlint.rules import CloudFormationLintRule, RuleMatch

# "*" alone, or a whole service ("s3:*", "*:*").
WILDCARD_ACTION = re.compile(r"^(\*|[A-Za-z0-9*-]+:\*)$")
ROLE_LIKE = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")  # Policies: [{PolicyName, PolicyDocument}]
DOCUMENT_LIKE = (  # PolicyDocument: {...}
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
)
SAM_LIKE = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")  # Policies: [name | template | {Statement}]


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _documents(logical_id: str, resource: dict):
    """(path, policy document) for every inline policy document of the resource."""
    rtype = resource.get("Type")
    properties = resource.get("Properties")
    if not isinstance(properties, dict):
        return
    base = ["Resources", logical_id, "Properties"]
    if rtype in ROLE_LIKE:
        policies = properties.get("Policies")
        for i, policy in enumerate(policies if isinstance(policies, list) else []):
            if isinstance(policy, dict) and isinstance(policy.get("PolicyDocument"), dict):
                yield base + ["Policies", i, "PolicyDocument"], policy["PolicyDocument"]
    elif rtype in DOCUMENT_LIKE:
        if isinstance(properties.get("PolicyDocument"), dict):
            yield base + ["PolicyDocument"], properties["PolicyDocument"]
    elif rtype in SAM_LIKE:
        policies = properties.get("Policies")
        if isinstance(policies, dict) and "Statement" in policies:  # a single inline document
            yield base + ["Policies"], policies
        for i, policy in enumerate(policies if isinstance(policies, list) else []):
            if isinstance(policy, dict) and "Statement" in policy:
                yield base + ["Policies", i], policy


class IamNoWildcards(CloudFormationLintRule):
    id = "E9003"
    shortdesc = "IAM statements name specific actions and resources"
    description = (
        "An Allow statement (IAM role/user/group/policy, a SAM function's inline Policies Statement, "
        "or a bucket/queue/topic policy) must not use Action '*' or 'service:*', NotAction, "
        "Resource '*' or NotResource. Deny statements are exempt: a deny of every action (e.g. the "
        "TLS-only bucket policy denying s3:* when aws:SecureTransport is false) only narrows access."
    )
    source_url = "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege"
    tags = ["resources", "iam", "least-privilege", "room-snapshots"]

    def match(self, cfn):
        matches = []
        for logical_id, resource in (cfn.template.get("Resources") or {}).items():
            if not isinstance(resource, dict):
                continue
            for path, document in _documents(logical_id, resource):
                statements = document.get("Statement")
                indexed = list(enumerate(statements)) if isinstance(statements, list) else [(None, statements)]
                for i, statement in indexed:
                    if not isinstance(statement, dict) or statement.get("Effect") == "Deny":
                        continue
                    spath = path + ["Statement"] + ([i] if i is not None else [])
                    sid = statement.get("Sid")
                    where = f"{logical_id} statement {sid or (i if i is not None else 0)}"
                    for key in ("NotAction", "NotResource"):
                        if key in statement:
                            matches.append(
                                RuleMatch(
                                    spath + [key],
                                    f"{where}: Allow with {key} grants everything not listed; name the "
                                    f"{'actions' if key == 'NotAction' else 'resources'} instead",
                                )
                            )
                    for action in _as_list(statement.get("Action")):
                        if isinstance(action, str) and WILDCARD_ACTION.match(action):
                            matches.append(
                                RuleMatch(
                                    spath + ["Action"],
                                    f"{where}: wildcard Action {action!r}; list the specific actions needed",
                                )
                            )
                    for target in _as_list(statement.get("Resource")):
                        if target == "*":
                            matches.append(
                                RuleMatch(
                                    spath + ["Resource"],
                                    f"{where}: Resource '*'; name the specific resource ARNs",
                                )
                            )
        return matches
