"""E9002: every SQS queue that is not (only) a dead-letter target redrives to a DLQ."""

from __future__ import annotations

import json

from cfnlint.rules import CloudFormationLintRule, RuleMatch

QUEUE_TYPE = "AWS::SQS::Queue"
# Keys under which a template names a dead-letter / on-failure destination.
DLQ_KEYS = {"deadLetterTargetArn", "DeadLetterQueue", "DeadLetterConfig", "OnFailure"}


def _refs(value, wanted: set[str]) -> set[str]:
    """Logical ids from `wanted` that `value` references (Ref, GetAtt, Sub), searched recursively."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str) and item in wanted:
                found.add(item)
            elif key == "Fn::GetAtt":
                target = (
                    item.split(".", 1)[0]
                    if isinstance(item, str)
                    else (item[0] if isinstance(item, list) and item else None)
                )
                if target in wanted:
                    found.add(target)
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) and item else item
                if isinstance(text, str):
                    found |= {name for name in wanted if "${" + name + "}" in text or "${" + name + "." in text}
                found |= _refs(item, wanted)
            else:
                found |= _refs(item, wanted)
    elif isinstance(value, list):
        for item in value:
            found |= _refs(item, wanted)
    return found


def _dlq_targets(node, queues: set[str]) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, item in node.items():
            found |= _refs(item, queues) if key in DLQ_KEYS else _dlq_targets(item, queues)
    elif isinstance(node, list):
        for item in node:
            found |= _dlq_targets(item, queues)
    return found


def _event_sources(resources: dict, queues: set[str]) -> dict[str, str]:
    """queue logical id -> a consumer that reads it (SAM SQS event or event source mapping)."""
    sources: dict[str, str] = {}
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        properties = resource.get("Properties") or {}
        if not isinstance(properties, dict):
            continue
        if resource.get("Type") in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            events = properties.get("Events") or {}
            for event in events.values() if isinstance(events, dict) else []:
                if isinstance(event, dict) and event.get("Type") == "SQS":
                    for queue in _refs((event.get("Properties") or {}).get("Queue"), queues):
                        sources.setdefault(queue, logical_id)
        elif resource.get("Type") == "AWS::Lambda::EventSourceMapping":
            for queue in _refs(properties.get("EventSourceArn"), queues):
                sources.setdefault(queue, logical_id)
        elif resource.get("Type") == "AWS::Pipes::Pipe":
            for queue in _refs(properties.get("Source"), queues):
                sources.setdefault(queue, logical_id)
    return sources


class QueueRedrivePolicy(CloudFormationLintRule):
    id = "E9002"
    shortdesc = "SQS queue has a redrive policy to a dead-letter queue"
    description = (
        "Every AWS::SQS::Queue that is an event source, or that is not itself a dead-letter target, "
        "needs RedrivePolicy with deadLetterTargetArn and maxReceiveCount, so a poison message ends "
        "in a DLQ instead of being retried until it expires."
    )
    source_url = (
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html"
    )
    tags = ["resources", "sqs", "room-snapshots"]

    def match(self, cfn):
        matches = []
        resources = cfn.template.get("Resources") or {}
        queues = set(cfn.get_resources([QUEUE_TYPE]))
        dlq_targets = _dlq_targets(resources, queues)
        sources = _event_sources(resources, queues)
        for queue_id in sorted(queues):
            if queue_id in dlq_targets and queue_id not in sources:
                continue  # a dead-letter queue: nothing to redrive to
            why = (
                f"is the event source of {sources[queue_id]}" if queue_id in sources else "is not a dead-letter target"
            )
            properties = resources[queue_id].get("Properties") or {}
            policy = properties.get("RedrivePolicy") if isinstance(properties, dict) else None
            if isinstance(policy, str):
                try:
                    policy = json.loads(policy)
                except ValueError:
                    policy = None
            if not isinstance(policy, dict):
                matches.append(
                    RuleMatch(
                        ["Resources", queue_id],
                        f"Queue {queue_id} {why} but has no RedrivePolicy (deadLetterTargetArn + maxReceiveCount)",
                    )
                )
                continue
            path = ["Resources", queue_id, "Properties", "RedrivePolicy"]
            target = policy.get("deadLetterTargetArn")
            if target is None:
                matches.append(RuleMatch(path, f"Queue {queue_id} RedrivePolicy has no deadLetterTargetArn"))
            elif queue_id in _refs(target, queues):
                matches.append(RuleMatch(path, f"Queue {queue_id} RedrivePolicy names the queue itself as its DLQ"))
            if policy.get("maxReceiveCount") is None:
                matches.append(RuleMatch(path, f"Queue {queue_id} RedrivePolicy has no maxReceiveCount"))
        return matches
