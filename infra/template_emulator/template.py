"""Reads a SAM template and resolves its intrinsic functions the way CloudFormation would locally."""

from __future__ import annotations

import graphlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

STACK_NAME = "emulated"  # the default stack name (a Profile gives its own)
ACCOUNT_ID = "123456789012"
DEFAULT_FUNCTION_TIMEOUT = 3
DEFAULT_FUNCTION_MEMORY = 128

# Property that names a resource explicitly; without it the name is "<stack>-<LogicalId>".
NAME_PROPERTIES = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
}
FUNCTION_TYPE = "AWS::Serverless::Function"
SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


NO_VALUE = object()  # what Ref AWS::NoValue resolves to: the key or list item is left out
CONDITION_FUNCTIONS = ("Condition", "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or")


class TemplateError(ValueError):
    pass


@dataclass
class Function:
    """An AWS::Serverless::Function with Globals merged and its runtime settings resolved."""

    logical_id: str
    name: str
    arn: str
    runtime: str
    handler: str
    code_dir: Path
    layer_dirs: list[Path]
    timeout: int
    memory_size: int
    environment: dict[str, str]
    reserved_concurrency: int | None
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # unresolved, as in the template

    def events_of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        return {name: event.get("Properties", {}) for name, event in self.events.items() if event["Type"] in types}


class Template:
    def __init__(
        self,
        path: str | Path = "template.yaml",
        region: str = "us-east-1",
        stack_name: str = STACK_NAME,
        parameter_overrides: dict[str, Any] | None = None,
    ):
        self.path = Path(path).resolve()
        self.root = self.path.parent
        self.raw = cfn_yaml.load(str(self.path))
        self.resources: dict[str, dict[str, Any]] = self.raw.get("Resources", {})
        self.region = region
        self.stack_name = stack_name
        self.pseudo_parameters = {
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.parameters = {
            name: str(spec["Default"]) for name, spec in self.raw.get("Parameters", {}).items() if "Default" in spec
        }
        self.set_parameters(parameter_overrides or {})
        self._recorded: dict[str, dict[str, str]] = {}

    def set_parameters(self, values: dict[str, Any]) -> None:
        unknown = set(values) - set(self.raw.get("Parameters", {}))
        if unknown:
            raise TemplateError(f"unknown parameters: {', '.join(sorted(unknown))}")
        self.parameters.update({name: str(value) for name, value in values.items()})

    def resources_of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        return {lid: res for lid, res in self.resources.items() if res["Type"] in types}

    def properties(self, logical_id: str) -> dict[str, Any]:
        return self.resolve(self.resources[logical_id].get("Properties", {}))

    # ------------------------------------------------------------------ physical ids and attributes

    def physical_name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        name_property = NAME_PROPERTIES.get(resource["Type"])
        explicit = resource.get("Properties", {}).get(name_property) if name_property else None
        if explicit is not None:
            return str(self.resolve(explicit))
        name = f"{self.stack_name}-{logical_id}"
        if resource["Type"] == "AWS::S3::Bucket":
            return name.lower()
        if resource["Type"] == "AWS::SQS::Queue" and resource.get("Properties", {}).get("FifoQueue"):
            return name + ".fifo"
        return name

    def record(self, logical_id: str, **attributes: str) -> None:
        """Keeps the real attributes of a provisioned resource (queue URL, ARNs) for later resolution."""
        self._recorded.setdefault(logical_id, {}).update(attributes)

    def attribute(self, logical_id: str, attribute: str = "Ref") -> str:
        if logical_id not in self.resources and logical_id not in self.implicit_roles():
            raise TemplateError(f"no resource {logical_id}")
        recorded = self._recorded.get(logical_id, {})
        if attribute in recorded:
            return recorded[attribute]
        attributes = self._default_attributes(logical_id)
        if attribute not in attributes:
            raise TemplateError(f"{logical_id}: attribute {attribute} is not supported locally")
        return attributes[attribute]

    def implicit_roles(self) -> set[str]:
        """The execution roles SAM creates, as <Function>Role, for functions that name no Role."""
        return {
            f"{lid}Role"
            for lid, res in self.resources_of_type(FUNCTION_TYPE).items()
            if "Role" not in res.get("Properties", {})
        }

    def _default_attributes(self, logical_id: str) -> dict[str, str]:
        region, account = self.region, ACCOUNT_ID
        if logical_id not in self.resources:  # an implicit role
            name = f"{self.stack_name}-{logical_id}"
            return {"Ref": name, "Arn": f"arn:aws:iam::{account}:role/{name}"}
        type_ = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        if type_ == "AWS::SQS::Queue":
            url = f"https://sqs.{region}.amazonaws.com/{account}/{name}"
            return {"Ref": url, "QueueUrl": url, "QueueName": name, "Arn": f"arn:aws:sqs:{region}:{account}:{name}"}
        if (
            type_ == "AWS::AppSync::Api"
        ):  # the emulator records its own server as the Dns (template_emulator.appsync_events)
            api_id = logical_id.lower()
            api_arn = f"arn:aws:appsync:{region}:{account}:apis/{api_id}"
            return {
                "Ref": api_arn,
                "ApiArn": api_arn,
                "ApiId": api_id,
                "Dns.Http": f"{api_id}.appsync-api.{region}.amazonaws.com",
                "Dns.Realtime": f"{api_id}.appsync-realtime-api.{region}.amazonaws.com",
            }
        if type_ == "AWS::AppSync::ChannelNamespace":
            api = self.referenced_resource(self.resources[logical_id]["Properties"]["ApiId"]) or ""
            arn = f"{self.attribute(api, 'ApiArn')}/channelNamespace/{self.resources[logical_id]['Properties']['Name']}"
            return {"Ref": arn, "ChannelNamespaceArn": arn}
        arns = {
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{region}:{account}:table/{name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::Serverless::Function": f"arn:aws:lambda:{region}:{account}:function:{name}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{region}:{account}:function:{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{region}:{account}:log-group:{name}:*",
            "AWS::IAM::Role": f"arn:aws:iam::{account}:role/{name}",
        }
        return {"Ref": name, "Arn": arns[type_]} if type_ in arns else {"Ref": name}

    # ------------------------------------------------------------------ intrinsic functions

    def resolve(self, value: Any) -> Any:
        """The value with its intrinsic functions applied; Ref AWS::NoValue drops the key or item."""
        if isinstance(value, list):
            return [item for item in map(self.resolve, value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return NO_VALUE if argument == "AWS::NoValue" else self._ref(argument)
            if key == "Fn::If":
                condition, when_true, when_false = argument
                return self.resolve(when_true if self.condition(condition) else when_false)
            if key in CONDITION_FUNCTIONS:
                return self._evaluate(value)
            if key == "Fn::GetAtt":
                logical_id, attribute = getatt_target(argument)
                return self.attribute(logical_id, attribute)
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::Join":
                delimiter, items = argument
                return delimiter.join(str(item) for item in self.resolve(items))
            if key == "Fn::Select":
                index, items = self.resolve(argument)
                return items[int(index)]
            if key.startswith("Fn::"):
                raise TemplateError(f"{key} is not supported by the emulator")
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def condition(self, name: str) -> bool:
        if name not in self.raw.get("Conditions", {}):
            raise TemplateError(f"condition {name} is not defined")
        return self._evaluate(self.raw["Conditions"][name])

    def _evaluate(self, expression: dict) -> bool:
        ((function, argument),) = expression.items()
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Equals":
            left, right = self.resolve(argument)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not self._evaluate(argument[0])
        outcomes = [self._evaluate(item) for item in argument]
        return all(outcomes) if function == "Fn::And" else any(outcomes)

    def _ref(self, name: str) -> str:
        if name in self.pseudo_parameters:
            return self.pseudo_parameters[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.raw.get("Parameters", {}):
            raise TemplateError(f"parameter {name} has no Default: pass it in parameter_overrides")
        return self.attribute(name)

    def _sub(self, argument: str | list) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = self.resolve(variables)

        def substitute(match: re.Match) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return self.attribute(*name.split(".", 1))
            return str(self._ref(name))

        return SUB_VARIABLE.sub(substitute, text).replace("${!", "${")

    # ------------------------------------------------------------------ dependencies

    def references(self, value: Any) -> set[str]:
        """Logical ids of the resources a value refers to."""
        found: set[str] = set()
        if isinstance(value, list):
            for item in value:
                found |= self.references(item)
        elif isinstance(value, dict):
            for key, argument in value.items():
                if key == "Ref":
                    found.add(argument)
                elif key == "Fn::GetAtt":
                    found.add(getatt_target(argument)[0])
                elif key == "Fn::Sub":
                    text = argument if isinstance(argument, str) else argument[0]
                    found |= {name.split(".")[0] for name in SUB_VARIABLE.findall(text)}
                    found |= self.references(argument)
                else:
                    found |= self.references(argument)
        return found & set(self.resources)

    def dependency_order(self) -> list[str]:
        graph = {}
        for logical_id, resource in self.resources.items():
            depends_on = resource.get("DependsOn", [])
            graph[logical_id] = self.references(resource.get("Properties", {})) | set(
                [depends_on] if isinstance(depends_on, str) else depends_on
            )
        return list(graphlib.TopologicalSorter(graph).static_order())

    @staticmethod
    def referenced_resource(value: Any) -> str | None:
        """The logical id behind a plain Ref or Fn::GetAtt, e.g. an event's Queue or ApiId."""
        if isinstance(value, dict) and "Ref" in value:
            return value["Ref"]
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            return getatt_target(value["Fn::GetAtt"])[0]
        return None

    # ------------------------------------------------------------------ functions

    def global_section(self, name: str) -> dict[str, Any]:
        return self.raw.get("Globals", {}).get(name, {})

    def functions(self) -> dict[str, Function]:
        return {lid: self.function(lid) for lid in self.resources_of_type(FUNCTION_TYPE)}

    def function(self, logical_id: str) -> Function:
        properties = merge_globals(self.global_section("Function"), self.resources[logical_id].get("Properties", {}))
        code_uri = self.resolve(properties.get("CodeUri"))
        if not isinstance(code_uri, str):
            raise TemplateError(f"{logical_id}: only a local CodeUri directory can run locally")
        variables = self.resolve(properties.get("Environment", {}).get("Variables", {}))
        return Function(
            logical_id=logical_id,
            name=self.attribute(logical_id),
            arn=self.attribute(logical_id, "Arn"),
            runtime=properties.get("Runtime", ""),
            handler=properties["Handler"],
            code_dir=(self.root / code_uri).resolve(),
            layer_dirs=[
                self._layer_dir(layer) for layer in properties.get("Layers", []) if self._is_local_layer(layer)
            ],
            timeout=int(self.resolve(properties.get("Timeout", DEFAULT_FUNCTION_TIMEOUT))),
            memory_size=int(self.resolve(properties.get("MemorySize", DEFAULT_FUNCTION_MEMORY))),
            environment={name: _environment_value(value) for name, value in variables.items()},
            reserved_concurrency=_optional_int(self.resolve(properties.get("ReservedConcurrentExecutions"))),
            events=properties.get("Events", {}),
        )

    def _is_local_layer(self, layer: Any) -> bool:
        # A layer given by ARN cannot be fetched locally; its packages come from the virtualenv instead.
        target = self.referenced_resource(layer)
        return target is not None and self.resources.get(target, {}).get("Type") == "AWS::Serverless::LayerVersion"

    def _layer_dir(self, layer: dict) -> Path:
        content_uri = self.resolve(self.resources[layer["Ref"]]["Properties"]["ContentUri"])
        return (self.root / content_uri).resolve()


def merge_globals(globals_: Any, local: Any) -> Any:
    """SAM's Globals rules: maps merge recursively, lists concatenate (globals first), scalars are overridden."""
    if isinstance(globals_, dict) and isinstance(local, dict):
        merged = dict(globals_)
        for key, value in local.items():
            merged[key] = merge_globals(globals_[key], value) if key in globals_ else value
        return merged
    if isinstance(globals_, list) and isinstance(local, list):
        return globals_ + local
    return local


def getatt_target(argument: str | list) -> tuple[str, str]:
    logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
    return logical_id, attribute


def _environment_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
