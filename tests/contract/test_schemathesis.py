"""Fuzzing the API from its own description (schemathesis): generated requests, valid and invalid,
against the local stack. No answer may be a server error or break the description.

The description is docs/openapi.json, which the stack serves byte for byte (checked below and, against
the code, by test_openapi_drift). It is loaded at collection, as @schema.parametrize needs; pytest 9 has
no room for schemathesis.pytest.from_fixture (it sets Node._nodeid, gone in pytest 9.2)."""

import contextlib

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from scripts.openapi import COMMITTED

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Per operation, valid and invalid requests together (fuzzing phase; the coverage phase adds its boundary cases).
MAX_EXAMPLES = 100
SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,  # nothing is written to the working tree; a failure prints how to reproduce it
    suppress_health_check=list(HealthCheck),
)
STATEFUL = hypothesis.settings(SETTINGS, max_examples=80, stateful_step_count=10, phases=[hypothesis.Phase.generate])

# POST /verify takes a PDF's bytes as application/pdf: sent as the binary body they are.
schemathesis.serializer.alias("application/pdf", "application/octet-stream")
schema = schemathesis.openapi.from_path(COMMITTED)
EXISTING: dict[str, str] = {}  # path parameter values that exist, set by the `existing` fixture


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Half the cases use values that exist, so that success responses are reached too. Deleting
    is left to the stateful test: the seeded snapshot must outlive the run."""
    existing = {name: EXISTING[name] for name in path_parameters or {} if name in EXISTING}
    if not existing or context.operation.method.upper() == "DELETE":
        return st.just(path_parameters)
    return st.sampled_from([path_parameters, {**path_parameters, **existing}])


@pytest.fixture(scope="module", autouse=True)
def existing(seeded):
    EXISTING.update(seeded)
    yield
    EXISTING.clear()


def call_kwargs(stack, tokens: dict[str, str], case) -> dict:
    """The stack's URL and a token: the owner of the seeded room, or an admin for the admins' metrics
    (so that their shape is checked too)."""
    token = tokens["admin"] if case.path.endswith("/metrics/summary") else tokens["owner"]
    return {"base_url": stack.base_url, "headers": {"Authorization": f"Bearer {token}"}}


@schema.parametrize()
@SETTINGS
def test_every_operation_answers_as_described(case, stack, tokens):
    case.call_and_validate(checks=CHECKS, **call_kwargs(stack, tokens, case))


def test_linked_operations_answer_as_described(stack, tokens):
    """Stateful: follows the description's links (a new room to its operations, a new snapshot to
    reading, downloading, polling, cancelling and deleting it). The server's state changes from one
    scenario to the next, so Hypothesis may find a scenario drawing differently from an earlier one
    with the same start and give up (Flaky), as schemathesis' own runner expects: failures are
    collected as they happen, and the machine runs again until it has played enough scenarios."""
    failures, scenarios = [], []

    class Workflow(schema.as_state_machine()):
        def setup(self):
            scenarios.append(self)

        def get_call_kwargs(self, case):
            return call_kwargs(stack, tokens, case)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            try:
                case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)
            except FailureGroup as failure:
                failures.append(failure)
                raise

    for _ in range(5):
        with contextlib.suppress(hypothesis.errors.Flaky):
            Workflow.run(settings=STATEFUL)
        if failures or len(scenarios) >= STATEFUL.max_examples:
            break
    assert not failures, failures[0]
    assert len(scenarios) >= STATEFUL.max_examples


def test_the_stack_serves_this_description_and_its_documentation_offline(stack):
    described = requests.get(f"{stack.base_url}/api/v1/openapi.json", timeout=30)
    assert described.status_code == 200
    assert described.headers["Content-Type"] == "application/json"
    assert described.text == COMMITTED.read_text(encoding="utf-8")
    docs = requests.get(f"{stack.base_url}/api/v1/docs", timeout=30)
    assert docs.status_code == 200
    assert docs.headers["Content-Type"].startswith("text/html")
    assert "SwaggerUIBundle" in docs.text
    assert "Room Snapshots" in docs.text
    assert "<script src=" not in docs.text
    assert "rel='stylesheet'" not in docs.text
