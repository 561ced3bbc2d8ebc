"""SnapStart: Lambda runs a function's initialization once, when a version is published, and starts
every new execution environment from a snapshot of its memory. So what init made that must differ
per environment, or must not outlive the moment it was made, is renewed after each restore, and
work the first requests would do is done before the snapshot instead. Both through AWS's runtime
hooks (snapshot_restore_py), which the Python runtime runs; locally there is no snapshot, and
nothing calls them.

After a restore, for every function that imports this: Python's `random` is seeded again (it is
seeded once, at import: every environment restored from one snapshot would draw the same numbers),
and the boto3 clients are made anew (their connection pools, and the credentials they resolved, are
the initializing environment's). A function adds its own with `after_restore`. Ids and secrets come
from os.urandom, which the kernel keeps unique per environment."""

import random
from collections.abc import Callable

from snapshot_restore_py import register_after_restore, register_before_snapshot

from roomsnap.dal import clients
from roomsnap.models import Model


def after_restore(hook: Callable[[], None]) -> None:
    """Runs `hook` in each execution environment restored from the snapshot, before its first request."""
    register_after_restore(hook)


def before_snapshot(hook: Callable[[], None]) -> None:
    """Runs `hook` once, before the snapshot is taken: work every first request would do otherwise."""
    register_before_snapshot(hook)


def _every_model(base: type[Model]) -> list[type[Model]]:
    return [model for sub in base.__subclasses__() for model in (sub, *_every_model(sub))]


@register_before_snapshot
def build_models() -> None:
    """Builds every model's validator into the snapshot (they are built on first use otherwise,
    which is what a cold start without SnapStart wants)."""
    for model in _every_model(Model):
        model.model_rebuild()


@register_after_restore
def renew_process_state() -> None:
    random.seed()
    clients.client.cache_clear()
