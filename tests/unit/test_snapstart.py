"""SnapStart's runtime hooks: what every environment restored from one snapshot must not share is
renewed, and the models are built into the snapshot. The hooks run as the Python runtime runs them:
from snapshot_restore_py's registries, in their order."""

import random

import snapshot_restore_py

from roomsnap.dal import clients
from roomsnap.models import Model
from roomsnap.snapstart import build_models

from renderer.logic.cache import ByteBoundedLRU
from renderer.logic.render import SnapshotRenderer


def restore() -> None:
    """What Lambda does in a new environment before its first request."""
    for hook, args, kwargs in snapshot_restore_py.get_after_restore():
        hook(*args, **kwargs)


def test_restored_environments_draw_different_random_numbers():
    # Given the state a snapshot froze: every environment restored from it starts here
    random.seed(20261201)
    state = random.getstate()
    # When two environments are restored from it
    drawn = []
    for _ in range(2):
        random.setstate(state)
        restore()
        drawn.append([random.random() for _ in range(3)])
    # Then they no longer draw what the snapshot would have, nor each other's numbers
    random.setstate(state)
    frozen = [random.random() for _ in range(3)]
    assert frozen not in drawn
    assert drawn[0] != drawn[1]


def test_a_restored_environment_makes_its_own_aws_clients(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    before = clients.client("sqs")
    restore()
    assert clients.client("sqs") is not before


def test_a_restored_renderer_is_a_container_of_its_own():
    renderer = SnapshotRenderer(
        None, None, None, None, ByteBoundedLRU(1 << 20), bytes, "1", "test", sign=bytes, issuances=None
    )
    snapshot_id = renderer.container_id
    renderer.restored()
    assert renderer.container_id != snapshot_id


def test_models_are_built_into_the_snapshot():
    # Given a model, built on first use as every model of the service is
    class PortCall(Model):
        port: str
        berth: int

    assert not PortCall.__pydantic_complete__
    # When the snapshot is about to be taken
    build_models()
    # Then it is built, so a restored environment's first request does not build it
    assert PortCall.__pydantic_complete__
    assert PortCall(port="Fujairah", berth=3).berth == 3
