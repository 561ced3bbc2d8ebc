"""The emulator's state across restarts, in a folder of its own (one per stack: two never share one).

moto keeps every service's state in process memory (its "backends"); moto has no persistence of its
own beyond a recorder that replays requests (which would mint new KMS key material and new ids on
replay). So the backends of every service the stack used are pickled, as moto's objects are plain
Python (S3 keys already pickle themselves): tables with their streams, queues with their messages'
receive counts and visibility, buckets and objects, KMS keys with their material. Locks and
conditions are pickled as fresh ones. The stream pollers' positions (which Lambda keeps for an
event source mapping) are written beside them, and the development keys live in the same folder.

The file is replaced atomically (written aside, then renamed), at every save: on stop and every
SAVE_INTERVAL_S while the stack runs, with no request inside moto meanwhile (the endpoint's gate).
A file that cannot be read (another moto version, say) is set aside and the stack starts empty.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import pickle
import shutil
import sys
import threading
import time
import typing
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from moto.core.base_backend import BackendDict

log = logging.getLogger("template_emulator.state")

BACKENDS_FILE = "aws.pickle"
POSITIONS_FILE = "event-source-positions.json"
SAVE_INTERVAL_S = 30
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
_PRIVATE_KEYS, _PUBLIC_KEYS = typing.get_args(PrivateKeyTypes), typing.get_args(PublicKeyTypes)


def _private_key(pem: bytes) -> Any:
    return serialization.load_pem_private_key(pem, password=None)


def _public_key(pem: bytes) -> Any:
    return serialization.load_pem_public_key(pem)


def _factory_shape(factory: Callable[[], Any]) -> Any:
    """What a defaultdict's factory makes, as a picklable description: a class to call, or
    ("defaultdict", the shape of its own factory). moto makes some with lambdas (SSM's tags:
    `defaultdict(lambda: defaultdict(dict))`), which pickle cannot name."""
    made = factory()
    if isinstance(made, defaultdict) and made.default_factory is not None:
        return ("defaultdict", _factory_shape(made.default_factory))
    return type(made)


def _factory(shape: Any) -> Callable[[], Any]:
    if isinstance(shape, tuple):
        inner = _factory(shape[1])
        return lambda: defaultdict(inner)
    return typing.cast(Callable[[], Any], shape)


def _defaultdict(cls: type[defaultdict], shape: Any, items: dict, attributes: dict) -> defaultdict:
    made = cls.__new__(cls)
    defaultdict.__init__(made, _factory(shape) if shape is not None else None, items)
    if attributes:  # a subclass's own attributes (a plain defaultdict has none)
        vars(made).update(attributes)
    return made


class _StatePickler(pickle.Pickler):
    """Locks and conditions as fresh ones; cryptography's keys (KMS's asymmetric keys) as PEM;
    defaultdicts whose factory is a lambda by what the factory makes, and subclasses of defaultdict
    whose constructor takes other arguments (SSM's ParameterDict) without calling it."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, defaultdict) and (
            type(obj) is not defaultdict or "<" in getattr(obj.default_factory, "__qualname__", "")
        ):
            shape = _factory_shape(obj.default_factory) if obj.default_factory is not None else None
            return _defaultdict, (type(obj), shape, dict(obj), dict(getattr(obj, "__dict__", {})))
        if isinstance(obj, _PRIVATE_KEYS):
            pem = obj.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            return _private_key, (pem,)
        if isinstance(obj, _PUBLIC_KEYS):
            pem = obj.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            return _public_key, (pem,)
        if isinstance(obj, _LOCK_TYPES):
            return type(obj), ()
        if isinstance(obj, threading.Condition):
            return threading.Condition, ()
        if isinstance(obj, threading.Event):
            return threading.Event, ()
        return NotImplemented


def loaded_backends() -> dict[tuple[str, str], BackendDict]:
    """moto's backends of the services imported in this process, by (module, attribute)."""
    found = {}
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.") and name.endswith(".models") and module is not None:
            for attribute, value in vars(module).items():
                if isinstance(value, BackendDict):
                    found[(name, attribute)] = value
    return found


def snapshot_of_backends() -> bytes:
    state = {
        key: {account: dict(regions) for account, regions in backends.items() if regions}
        for key, backends in loaded_backends().items()
    }
    buffer = io.BytesIO()
    _StatePickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump({key: value for key, value in state.items() if value})
    return buffer.getvalue()


def restore_backends(data: bytes) -> int:
    """Puts pickled backends in place of this process's; returns how many service regions came back."""
    import importlib

    restored = 0
    for (module_name, attribute), accounts in pickle.loads(data).items():
        backends: BackendDict = getattr(importlib.import_module(module_name), attribute)
        for account, regions in accounts.items():
            account_backends = backends[account]
            for region, backend in regions.items():
                dict.__setitem__(account_backends, region, backend)
                restored += 1
    return restored


def _write_atomically(path: Path, data: bytes) -> None:
    aside = path.with_name(path.name + ".writing")
    with open(aside, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(aside, path)


class StateFolder:
    """A stack's state folder: the AWS state and event source positions it saves, and whatever
    files the stack keeps there (its development keys)."""

    def __init__(self, path: Path, fresh: bool = False):
        self.path = path
        if fresh and path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)

    def file(self, name: str) -> Path:
        return self.path / name

    def restore(self) -> dict[str, Any]:
        """Loads the saved AWS state into moto; returns the saved event source positions."""
        backends = self.file(BACKENDS_FILE)
        if not backends.exists():
            return {}
        try:
            regions = restore_backends(backends.read_bytes())
            positions = json.loads(self.file(POSITIONS_FILE).read_text()) if self.file(POSITIONS_FILE).exists() else {}
        except Exception as error:  # an unreadable state must not keep the stack from starting
            aside = backends.with_name(f"{BACKENDS_FILE}.unreadable-{int(time.time())}")
            backends.rename(aside)
            log.warning("the saved state could not be read (%s): starting empty; it is kept as %s", error, aside)
            return {}
        log.info("state restored from %s (%d service regions)", self.path, regions)
        return positions

    def save(self, positions: dict[str, Any]) -> None:
        _write_atomically(self.file(BACKENDS_FILE), snapshot_of_backends())
        _write_atomically(self.file(POSITIONS_FILE), json.dumps(positions).encode())


class Saver:
    """Saves every `interval` seconds, with `pause` held (no request inside moto meanwhile)."""

    def __init__(
        self,
        folder: StateFolder,
        positions: Callable[[], dict[str, Any]],
        pause: Callable[[], contextlib.AbstractContextManager],
        interval: float = SAVE_INTERVAL_S,
    ):
        self._folder, self._positions, self._pause, self._interval = folder, positions, pause, interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="state-saver")

    def save(self) -> None:
        with self._pause():
            self._folder.save(self._positions())

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.save()
            except Exception as error:  # the next save tries again; the stop saves in any case
                log.warning("saving the state failed: %s", error)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def join(self) -> None:
        if self._thread.is_alive():
            self._thread.join()
