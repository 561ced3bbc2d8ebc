"""Publishes the built web app (web/dist) to a deployed stack: its files into the web bucket with the
cache headers the emulated stack serves them with, the runtime /config.json made from the stack's own
parameters (the OIDC issuer and client the API's authorizer checks), then a CloudFront invalidation
of the pages that are not content-hashed. `make deploy` runs it after `sam deploy`.

Usage: python -m scripts.publish_web [STACK_NAME]   (default: samconfig.toml's, room-snapshots)"""

import json
import sys
import time
from pathlib import Path

import boto3
from template_emulator.appsync_events import REALTIME_PATH
from template_emulator.web import CONTENT_TYPES, IMMUTABLE

from scripts.web_config import runtime_config

DIST = Path(__file__).resolve().parents[1] / "web" / "dist"


def main(stack_name: str) -> None:
    stack = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack["Parameters"]}
    bucket, s3 = outputs["WebBucketName"], boto3.client("s3")
    for file in sorted(path for path in DIST.rglob("*") if path.is_file()):
        key = file.relative_to(DIST).as_posix()
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=file.read_bytes(),
            ContentType=CONTENT_TYPES.get(file.suffix, "application/octet-stream"),
            CacheControl=IMMUTABLE if key.startswith("assets/") else "no-cache",
        )
    live_channel = (outputs["EventsHttpDomain"], f"wss://{outputs['EventsRealtimeDomain']}{REALTIME_PATH}")
    config = runtime_config(
        parameters["JwtIssuer"], parameters["JwtAudience"], parameters.get("AdminGroup", "admin"), live_channel
    )
    body = json.dumps(config).encode()
    s3.put_object(Bucket=bucket, Key="config.json", Body=body, ContentType="application/json", CacheControl="no-cache")
    boto3.client("cloudfront").create_invalidation(
        DistributionId=outputs["WebDistributionId"],
        InvalidationBatch={
            "Paths": {"Quantity": 2, "Items": ["/index.html", "/config.json"]},
            "CallerReference": str(time.time()),
        },
    )
    print(f"published {DIST} to s3://{bucket}: {outputs['WebUrl']}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "room-snapshots")
