"""E9004: every S3 bucket blocks public access and only accepts TLS."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

BUCKET_TYPE = "AWS::S3::Bucket"
POLICY_TYPE = "AWS::S3::BucketPolicy"
PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")


def _true(value) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _false(value) -> bool:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value is False or (isinstance(value, str) and value.lower() == "false")


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _scope(resource, bucket: str) -> str | None:
    """'bucket', 'objects' or 'all' when a Resource entry covers this bucket (or its objects)."""
    if resource == "*":
        return "all"
    if not isinstance(resource, dict) or len(resource) != 1:
        return None
    ((fn, arg),) = resource.items()
    if fn == "Fn::GetAtt":
        target = arg.split(".", 1) if isinstance(arg, str) else arg
        return "bucket" if isinstance(target, list) and target[:2] == [bucket, "Arn"] else None
    if fn == "Fn::Sub":
        text = arg[0] if isinstance(arg, list) and arg else arg
        if isinstance(text, str) and ("${" + bucket + ".Arn}" in text or "${" + bucket + "}" in text):
            return "objects" if text.endswith("/*") else "bucket"
        return None
    if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list) and arg[1]:
        parts = arg[1]
        mentions = any(
            part in ({"Ref": bucket}, {"Fn::GetAtt": [bucket, "Arn"]}, {"Fn::GetAtt": f"{bucket}.Arn"})
            for part in parts
        )
        if mentions:
            last = parts[-1]
            return "objects" if isinstance(last, str) and last.endswith("/*") else "bucket"
    return None


def _is_tls_deny(statement) -> bool:
    if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
        return False
    condition = statement.get("Condition")
    bool_condition = condition.get("Bool") if isinstance(condition, dict) else None
    return isinstance(bool_condition, dict) and _false(bool_condition.get("aws:SecureTransport"))


class S3BucketSecure(CloudFormationLintRule):
    id = "E9004"
    shortdesc = "S3 bucket blocks public access and denies insecure transport"
    description = (
        "Every AWS::S3::Bucket sets all four PublicAccessBlockConfiguration flags to true and has an "
        "AWS::S3::BucketPolicy with a Deny of s3:* for every principal, on the bucket and its "
        "objects, when aws:SecureTransport is false."
    )
    source_url = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html"
    tags = ["resources", "s3", "room-snapshots"]

    def match(self, cfn):
        matches = []
        policies = cfn.get_resources([POLICY_TYPE])
        for bucket_id, bucket in cfn.get_resources([BUCKET_TYPE]).items():
            properties = bucket.get("Properties") or {}
            block = properties.get("PublicAccessBlockConfiguration") if isinstance(properties, dict) else None
            if not isinstance(block, dict):
                matches.append(
                    RuleMatch(
                        ["Resources", bucket_id],
                        f"Bucket {bucket_id} has no PublicAccessBlockConfiguration "
                        f"({', '.join(PUBLIC_ACCESS_FLAGS)} must all be true)",
                    )
                )
            else:
                missing = [flag for flag in PUBLIC_ACCESS_FLAGS if not _true(block.get(flag))]
                if missing:
                    matches.append(
                        RuleMatch(
                            ["Resources", bucket_id, "Properties", "PublicAccessBlockConfiguration"],
                            f"Bucket {bucket_id} does not block all public access: {', '.join(missing)} must be true",
                        )
                    )
            matches.extend(self._check_policy(bucket_id, policies))
        return matches

    def _check_policy(self, bucket_id: str, policies: dict) -> list[RuleMatch]:
        mine = {
            policy_id: policy
            for policy_id, policy in policies.items()
            if isinstance(policy.get("Properties"), dict) and policy["Properties"].get("Bucket") == {"Ref": bucket_id}
        }
        if not mine:
            return [
                RuleMatch(
                    ["Resources", bucket_id],
                    f"Bucket {bucket_id} has no AWS::S3::BucketPolicy (Bucket: !Ref {bucket_id}) "
                    "denying requests with aws:SecureTransport false",
                )
            ]
        problems: list[RuleMatch] = []
        for policy_id, policy in mine.items():
            document = policy["Properties"].get("PolicyDocument")
            statements = _as_list(document.get("Statement")) if isinstance(document, dict) else []
            for i, statement in enumerate(statements):
                if not _is_tls_deny(statement):
                    continue
                path = ["Resources", policy_id, "Properties", "PolicyDocument", "Statement", i]
                gaps = []
                if not set(_as_list(statement.get("Action"))) & {"s3:*", "*"}:
                    gaps.append("Action must be s3:*")
                if statement.get("Principal") not in ("*", {"AWS": "*"}):
                    gaps.append("Principal must be '*'")
                scopes = {_scope(r, bucket_id) for r in _as_list(statement.get("Resource"))}
                if "all" not in scopes and not {"bucket", "objects"} <= scopes:
                    gaps.append(f"Resource must cover both the bucket ARN and ${{{bucket_id}.Arn}}/*")
                if not gaps:
                    return []
                problems.append(
                    RuleMatch(
                        path, f"Bucket {bucket_id} TLS-only Deny in {policy_id} is incomplete: " + "; ".join(gaps)
                    )
                )
        if problems:
            return problems
        return [
            RuleMatch(
                ["Resources", next(iter(mine))],
                f"Bucket policy of {bucket_id} has no Deny statement with Condition "
                "Bool aws:SecureTransport: 'false' (TLS-only access)",
            )
        ]
