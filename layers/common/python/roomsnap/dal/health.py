"""Reachability of the resources the service depends on: names and booleans, never secrets."""

from collections.abc import Callable

from roomsnap.dal.clients import client


def check_dependencies(table_name: str, bucket_name: str, queue_urls: dict[str, str]) -> dict[str, bool]:
    def queue_probe(url: str) -> Callable[[], object]:
        return lambda: client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])

    probes: dict[str, Callable[[], object]] = {
        "table": lambda: client("dynamodb").describe_table(TableName=table_name),
        "bucket": lambda: client("s3").head_bucket(Bucket=bucket_name),
        **{name: queue_probe(url) for name, url in queue_urls.items()},
    }
    results = {}
    for name, probe in probes.items():
        try:
            probe()
            results[name] = True
        except Exception:  # any failure means "not reachable"; the reason is logged by the caller
            results[name] = False
    return results
