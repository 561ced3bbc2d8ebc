"""One Lambda execution environment: imports the handler once (cold start), then serves invocations.

Started by template_emulator.runtime as `python -I worker.py <layer dir>...` with the function's environment and
its code directory as working directory. -I keeps the script's own directory and PYTHON* variables
out of sys.path, which then holds the code directory, the layers and site-packages, as in Lambda.

Protocol, newline-delimited JSON: requests arrive on stdin; replies leave on a duplicate of the
original stdout. fd 1 is then pointed at stderr, so whatever the function prints reaches the parent.
"""

import importlib
import io
import json
import os
import sys
import time
import traceback

MAX_RESPONSE_BYTES = 6291556  # Lambda's limit on a synchronous invocation's response


class LambdaContext:
    def __init__(self, request: dict):
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn = request["invoked_function_arn"]
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.aws_request_id = request["request_id"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = request["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


def error_of(error: BaseException, error_type: str | None = None) -> dict:
    return {
        "errorType": error_type or type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def load_handler():
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as error:
        raise InitError(error_of(error, "Runtime.UserCodeSyntaxError")) from error
    except ImportError as error:
        raise InitError(
            {
                **error_of(error, "Runtime.ImportModuleError"),
                "errorMessage": f"Unable to import module '{module_name}': {error}",
            }
        ) from error
    except Exception as error:
        raise InitError(error_of(error)) from error
    if not hasattr(module, function_name):
        raise InitError(
            {
                "errorType": "Runtime.HandlerNotFound",
                "stackTrace": [],
                "errorMessage": f"Handler '{function_name}' missing on module '{module_name}'",
            }
        )
    return getattr(module, function_name)


class InitError(Exception):
    def __init__(self, error: dict):
        super().__init__(error["errorMessage"])
        self.error = error


def main() -> None:
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        assert isinstance(stream, io.TextIOWrapper)
        stream.reconfigure(encoding="utf-8", line_buffering=stream is not sys.stdin)
    sys.path[:0] = [os.environ["LAMBDA_TASK_ROOT"], *sys.argv[1:]]

    def reply(message: dict) -> None:
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    try:
        handler = load_handler()
    except InitError as error:
        print(f"[ERROR] {error.error['errorType']}: {error.error['errorMessage']}", file=sys.stderr)
        if error.__cause__:
            traceback.print_exception(error.__cause__)
        reply({"init_error": error.error})
        return
    reply({"ready": True})

    for line in sys.stdin:
        reply(invoke(handler, json.loads(line)))


def invoke(handler, request: dict) -> dict:
    try:
        result = handler(request["event"], LambdaContext(request))
    except Exception as error:  # fails the invocation; the environment stays warm, as in Lambda
        if error.__traceback__:  # only the function's own frames
            error = error.with_traceback(error.__traceback__.tb_next)
        print(f"[ERROR] {type(error).__name__}: {error}", file=sys.stderr)
        traceback.print_exception(error)
        return {"error": error_of(error)}
    try:
        size = len(json.dumps(result).encode())
    except (TypeError, ValueError) as error:
        return {
            "error": {**error_of(error, "Runtime.MarshalError"), "errorMessage": f"Unable to marshal response: {error}"}
        }
    if size > MAX_RESPONSE_BYTES:
        return {
            "error": {
                "errorType": "Function.ResponseSizeTooLarge",
                "stackTrace": [],
                "errorMessage": "Response payload size exceeded maximum allowed payload size "
                f"({MAX_RESPONSE_BYTES} bytes).",
            }
        }
    return {"result": result}


if __name__ == "__main__":
    main()
