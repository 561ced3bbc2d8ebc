"""The live channel's publish endpoint: AppSync Events' HTTP API, POST /event, signed with the
function's own credentials (SigV4, service "appsync"; publishing is IAM-only). boto3 has no client
for the Events data plane, so the request is botocore's signer over the standard library's HTTP."""

import json
import urllib.error
import urllib.request
from functools import cached_property
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

MAX_EVENTS_PER_REQUEST = 5  # AppSync Events' limit for one publish


class PublishFailed(Exception):
    pass


class LiveChannels:
    def __init__(self, url: str, timeout_seconds: float):
        self.url = url
        self.timeout_seconds = timeout_seconds

    @cached_property
    def _session(self) -> boto3.session.Session:
        return boto3.session.Session()

    def publish(self, channel: str, events: list[dict[str, Any]]) -> None:
        """Sends the events to everyone subscribed to `channel`, in order, five per request.
        Raises PublishFailed when the endpoint cannot be reached or refuses any of them."""
        for start in range(0, len(events), MAX_EVENTS_PER_REQUEST):
            batch = events[start : start + MAX_EVENTS_PER_REQUEST]
            answer = self._post({"channel": channel, "events": [json.dumps(event) for event in batch]})
            if answer.get("failed"):
                raise PublishFailed(f"{len(answer['failed'])} of {len(batch)} events refused: {answer['failed']}")

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode()
        request = AWSRequest("POST", self.url, data=data, headers={"content-type": "application/json"})
        credentials = self._session.get_credentials()
        if credentials is None:
            raise PublishFailed("no AWS credentials to sign the publish with")
        SigV4Auth(credentials, "appsync", self._session.region_name).add_auth(request)
        signed = urllib.request.Request(self.url, data, dict(request.headers.items()), method="POST")
        try:
            with urllib.request.urlopen(signed, timeout=self.timeout_seconds) as response:
                return json.load(response)
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise PublishFailed(f"{self.url}: {error}") from error
