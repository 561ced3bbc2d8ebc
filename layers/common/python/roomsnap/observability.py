"""One place for logging and metrics. Powertools reads POWERTOOLS_SERVICE_NAME, _LOG_LEVEL and
_METRICS_NAMESPACE from the template's Globals; logs are JSON with the cold-start flag."""

import functools
import os
import warnings
from collections.abc import Callable

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
# An invocation with nothing to count (a duplicate delivery, say) is normal, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")


# Keys Powertools adds to every line from the Lambda context that CloudWatch already knows: the log
# group names the function (and its ARN and memory size); ~190 bytes of every line ingested.
CONTEXT_KEYS_NOT_LOGGED = ["function_name", "function_arn", "function_memory_size"]


def logged_with_context(correlation_id_path: str | None = None) -> Callable:
    """logger.inject_lambda_context (the request id, cold start and correlation id on every line)
    without the keys the log group already holds."""

    def decorate(handler: Callable) -> Callable:
        @functools.wraps(handler)
        def without_redundant_keys(event, context):
            logger.remove_keys(CONTEXT_KEYS_NOT_LOGGED)
            return handler(event, context)

        return logger.inject_lambda_context(without_redundant_keys, correlation_id_path=correlation_id_path)

    return decorate


def traced(handler):
    """X-Ray tracing of a handler (and of its boto3 calls) when the template's EnableTracing is
    on. Only then is the tracer imported: aws-xray-sdk costs ~285 ms of every cold start."""
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").lower() != "false":
        return handler
    from aws_lambda_powertools import Tracer

    return Tracer().capture_lambda_handler(handler)
