"""Fuzzing the API from its own description (schemathesis): generated requests, valid and invalid,
against the local stack. No answer may be a server error or break the description."""

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.contract.openapi import COMMITTED

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance, response_headers_conformance]
MAX_EXAMPLES = 25  # per operation and generation mode (valid, invalid) in the fuzzing phase
SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,  # nothing written to the working tree; a failure prints its reproduction
    suppress_health_check=list(HealthCheck),
)
STATEFUL = hypothesis.settings(SETTINGS, max_examples=30, stateful_step_count=6)


@pytest.fixture(scope="module")
def api_schema(stack, seeded):
    """The description the stack serves. Half the generated path parameters are replaced by values
    that exist (the seeded room, document, snapshot and task), so success responses are reached too."""
    schema = schemathesis.openapi.from_url(f"{stack.base_url}/api/v1/openapi.json")

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        if context.operation.method.upper() == "DELETE":  # the seeded snapshot must outlive the run
            return st.just(path_parameters)
        existing = {name: seeded[name] for name in path_parameters if name in seeded}
        return st.sampled_from([path_parameters, {**path_parameters, **existing}])

    return schema


def authorization(tokens: dict[str, str], path: str) -> dict[str, str]:
    """The owner of the seeded room; an admin for the admins' metrics, so their shape is checked too."""
    token = tokens["admin"] if path.endswith("/metrics/summary") else tokens["owner"]
    return {"Authorization": f"Bearer {token}"}


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@SETTINGS
def test_every_operation_answers_as_described(case, tokens):
    case.call_and_validate(headers=authorization(tokens, case.path), checks=CHECKS)


def test_linked_operations_answer_as_described(api_schema, tokens):
    """Stateful: follows the description's links (a new room to its operations, a new snapshot to
    reading, downloading, polling, cancelling and deleting it)."""

    class Workflow(api_schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": authorization(tokens, case.path)}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Workflow.run(settings=STATEFUL)


def test_the_stack_serves_the_committed_description_and_its_documentation_offline(stack):
    described = requests.get(f"{stack.base_url}/api/v1/openapi.json", timeout=30)
    assert described.status_code == 200 and described.headers["Content-Type"] == "application/json"
    assert described.text == COMMITTED.read_text(encoding="utf-8")
    docs = requests.get(f"{stack.base_url}/api/v1/docs", timeout=30)
    assert docs.status_code == 200 and docs.headers["Content-Type"].startswith("text/html")
    assert "SwaggerUIBundle" in docs.text and "Room Snapshots" in docs.text
    assert "<script src=" not in docs.text and "<link rel=\"stylesheet\" href=" not in docs.text  # assets inline
