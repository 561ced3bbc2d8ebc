"""Runs functions as Lambda does: each in its own worker process, started on first use and kept warm."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from template_emulator.metering import record_invocation
from template_emulator.template import Function

log = logging.getLogger("template_emulator.runtime")

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
INIT_TIMEOUT = 10  # Lambda's limit on the init phase of a cold start
# Local caps on concurrent environments per function; the template's own limits apply when lower.
LOCAL_CONCURRENCY = 4
LOCAL_QUEUE_CONCURRENCY = 2

OutputSink = Callable[[str, str], None]  # (function logical id, line)


class FunctionError(Exception):
    """The invocation failed; `error` is Lambda's error payload (errorType, errorMessage, ...)."""

    def __init__(self, function: str, error: dict[str, Any]):
        super().__init__(f"{function}: {error['errorType']}: {error['errorMessage']}")
        self.function = function
        self.error = error


class FunctionTimeout(FunctionError):
    """The function ran past its Timeout; its environment was killed, as Lambda does."""


def concurrency(function: Function) -> int:
    queue_events = function.events_of_type("SQS")
    limits = [
        LOCAL_QUEUE_CONCURRENCY if queue_events else LOCAL_CONCURRENCY,
        function.reserved_concurrency,
        *(event.get("ScalingConfig", {}).get("MaximumConcurrency") for event in queue_events.values()),
    ]
    return min(int(limit) for limit in limits if limit)


def lambda_environment(
    function: Function, aws_environment: dict[str, str], overrides: dict[str, str]
) -> dict[str, str]:
    """What a function's process sees: Lambda's reserved variables, the endpoint, then its own variables."""
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(function.code_dir),
        "_HANDLER": function.handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",
        # What `sam local` sets; Powertools Tracer then stays off instead of looking for an X-Ray daemon.
        "AWS_SAM_LOCAL": "true",
        **aws_environment,
        **function.environment,
        **overrides,
    }


class Worker:
    """One execution environment: a worker process that has imported the handler."""

    def __init__(self, function: Function, environment: dict[str, str], on_output: OutputSink):
        self.function = function
        started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(WORKER_SCRIPT), *map(str, function.layer_dirs)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            cwd=function.code_dir,
            encoding="utf-8",
            start_new_session=True,  # Ctrl-C reaches the stack, which then stops its workers
        )
        stdin, stdout, stderr = self.process.stdin, self.process.stdout, self.process.stderr
        if stdin is None or stdout is None or stderr is None:
            raise RuntimeError("a worker's three standard streams are pipes")
        self._stdin, self._stdout, self._stderr = stdin, stdout, stderr
        self._replies: queue.Queue = queue.Queue()
        self._readers = [
            threading.Thread(target=self._read_replies, daemon=True),
            threading.Thread(target=self._read_output, args=(on_output,), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        try:
            reply = self._reply(INIT_TIMEOUT, f"Init timed out after {INIT_TIMEOUT} seconds")
            if "init_error" in reply:
                raise FunctionError(function.logical_id, reply["init_error"])
        except FunctionError:
            self.stop()
            raise
        self.init_duration = time.monotonic() - started
        self.cold = True

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def invoke(self, event: Any, request_id: str) -> Any:
        timeout = self.function.timeout
        request = {
            "event": event,
            "request_id": request_id,
            "deadline_ms": (time.time() + timeout) * 1000,
            "invoked_function_arn": self.function.arn,
        }
        try:
            self._stdin.write(json.dumps(request) + "\n")
            self._stdin.flush()
        except (OSError, ValueError):
            pass  # the worker is gone or being stopped; _reply reports how it ended
        reply = self._reply(timeout, f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds")
        if "error" in reply:
            raise FunctionError(self.function.logical_id, reply["error"])
        return reply["result"]

    def _reply(self, timeout: float, timeout_message: str) -> dict[str, Any]:
        try:
            reply = self._replies.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            raise FunctionTimeout(
                self.function.logical_id, {"errorType": "Sandbox.Timedout", "errorMessage": timeout_message}
            ) from None
        if reply is None:
            raise FunctionError(
                self.function.logical_id,
                {
                    "errorType": "Runtime.ExitError",
                    "errorMessage": f"Runtime exited with error: exit status {self.process.wait()}",
                },
            )
        return reply

    def _read_replies(self) -> None:
        for line in self._stdout:
            self._replies.put(json.loads(line))
        self._replies.put(None)

    def _read_output(self, on_output: OutputSink) -> None:
        for line in self._stderr:
            on_output(self.function.logical_id, line)

    def stop(self) -> None:
        """Ends the environment at once, as Lambda does when it reclaims one."""
        self.process.kill()
        self.process.wait()
        with contextlib.suppress(OSError):
            self._stdin.close()
        for reader in self._readers:
            reader.join(timeout=2)
        if not any(reader.is_alive() for reader in self._readers):  # a child the function started may hold a pipe
            self._stdout.close()
            self._stderr.close()


class FunctionPool:
    """The warm environments of one function, at most `size` at a time; callers wait for a free one."""

    def __init__(self, function: Function, environment: Callable[[], dict[str, str]], on_output: OutputSink, size: int):
        self.function = function
        self.size = size
        self._environment = environment
        self._on_output = on_output
        self._idle: list[Worker] = []
        self._workers: set[Worker] = set()
        self._starting = 0
        self._stopped = False
        self._changed = threading.Condition()

    def invoke(self, event: Any) -> Any:
        worker = self._acquire()
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        try:
            return worker.invoke(event, request_id)
        finally:
            self._release(worker)
            duration_ms = (time.monotonic() - started) * 1000
            init_ms = worker.init_duration * 1000 if worker.cold else None
            worker.cold = False
            record_invocation(self.function.logical_id, request_id, duration_ms, self.function.memory_size, init_ms)
            log.info(
                "%s REPORT RequestId: %s Duration: %.2f ms%s",
                self.function.logical_id,
                request_id,
                duration_ms,
                f" Init Duration: {init_ms:.2f} ms" if init_ms is not None else "",
            )

    def _acquire(self) -> Worker:
        with self._changed:
            while not self._idle and len(self._workers) + self._starting >= self.size and not self._stopped:
                self._changed.wait()
            if self._stopped:
                raise FunctionError(
                    self.function.logical_id,
                    {"errorType": "Runtime.Stopped", "errorMessage": "the emulator is stopping"},
                )
            if self._idle:
                return self._idle.pop()
            self._starting += 1
        try:
            worker = Worker(self.function, self._environment(), self._on_output)
        finally:
            with self._changed:
                self._starting -= 1
                self._changed.notify()
        with self._changed:
            self._workers.add(worker)
        return worker

    def _release(self, worker: Worker) -> None:
        with self._changed:
            if worker.alive and not self._stopped:
                self._idle.append(worker)
            else:
                self._workers.discard(worker)
            self._changed.notify()

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            workers = list(self._workers)
            self._changed.notify_all()
        for worker in workers:
            worker.stop()


class Runtime:
    def __init__(
        self,
        functions: dict[str, Function],
        aws_environment: dict[str, str],
        on_output: OutputSink,
        env_overrides: dict[str, dict[str, str]] | None = None,
    ):
        self.functions = functions
        overrides = env_overrides or {}
        self._pools = {
            logical_id: FunctionPool(
                function,
                functools.partial(lambda_environment, function, aws_environment, overrides.get(logical_id, {})),
                on_output,
                concurrency(function),
            )
            for logical_id, function in functions.items()
        }

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Invokes a function synchronously: its result, or FunctionError / FunctionTimeout."""
        if logical_id not in self._pools:
            raise KeyError(f"no function {logical_id} in the template")
        return self._pools[logical_id].invoke(event)

    def stop(self) -> None:
        for pool in self._pools.values():
            pool.stop()
