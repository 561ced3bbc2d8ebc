"""One place for logging and metrics. Powertools reads POWERTOOLS_SERVICE_NAME, _LOG_LEVEL and
_METRICS_NAMESPACE from the template's Globals; logs are JSON with the cold-start flag."""

import os
import warnings

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
# An invocation with nothing to count (a duplicate delivery, say) is normal, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")


def traced(handler):
    """X-Ray tracing of a handler (and of its boto3 calls) when the template's EnableTracing is
    on. Only then is the tracer imported: aws-xray-sdk costs ~285 ms of every cold start."""
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").lower() != "false":
        return handler
    from aws_lambda_powertools import Tracer

    return Tracer().capture_lambda_handler(handler)
