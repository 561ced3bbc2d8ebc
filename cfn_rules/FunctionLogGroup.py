"""E9001: every Lambda function has an explicit log group `/aws/lambda/${Fn}` with a retention."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
LOG_GROUP_TYPE = "AWS::Logs::LogGroup"


def _sub_function(name) -> str | None:
    """The function a `!Sub /aws/lambda/${Fn}` log group name points at, else None."""
    if not isinstance(name, dict) or list(name) != ["Fn::Sub"]:
        return None
    value = name["Fn::Sub"]
    variables = {}
    if isinstance(value, list) and value:
        value, variables = value[0], (value[1] if len(value) > 1 and isinstance(value[1], dict) else {})
    if not isinstance(value, str) or not value.startswith("/aws/lambda/${") or not value.endswith("}"):
        return None
    target = value[len("/aws/lambda/${") : -1]
    if not target or "$" in target or "{" in target or "." in target or target in variables:
        return None
    return target


class FunctionLogGroup(CloudFormationLintRule):
    id = "E9001"
    shortdesc = "Function has an explicit log group with retention"
    description = (
        "Every AWS::Serverless::Function / AWS::Lambda::Function needs an AWS::Logs::LogGroup whose "
        "LogGroupName is !Sub /aws/lambda/${Function} and which sets RetentionInDays; otherwise Lambda "
        "creates the group itself and keeps the logs forever."
    )
    source_url = "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html"
    tags = ["resources", "lambda", "logs", "room-snapshots"]

    def match(self, cfn):
        matches = []
        functions = cfn.get_resources(list(FUNCTION_TYPES))
        groups: dict[str, list[str]] = {}
        for group_id, group in cfn.get_resources([LOG_GROUP_TYPE]).items():
            properties = group.get("Properties") or {}
            target = _sub_function(properties.get("LogGroupName")) if isinstance(properties, dict) else None
            if target in functions:
                groups.setdefault(target, []).append(group_id)
                if "RetentionInDays" not in properties:
                    matches.append(
                        RuleMatch(
                            ["Resources", group_id, "Properties"],
                            f"Log group {group_id} of function {target} has no RetentionInDays "
                            "(logs would be kept forever)",
                        )
                    )
        for function_id in functions:
            if function_id not in groups:
                matches.append(
                    RuleMatch(
                        ["Resources", function_id],
                        f"Function {function_id} has no AWS::Logs::LogGroup with "
                        f"LogGroupName: !Sub /aws/lambda/${{{function_id}}} and RetentionInDays",
                    )
                )
        return matches
