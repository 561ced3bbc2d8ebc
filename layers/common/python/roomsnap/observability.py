"""One place for logging and metrics. Powertools reads POWERTOOLS_SERVICE_NAME, _LOG_LEVEL and
_METRICS_NAMESPACE from the template's Globals; logs are JSON with the cold-start flag."""

import warnings

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
# An invocation with nothing to count (a duplicate delivery, say) is normal, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")
