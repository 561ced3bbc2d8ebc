"""The live channel's publish endpoint: AppSync Events' HTTP API, POST /event, signed with the
function's own credentials (SigV4, service "appsync"; publishing is IAM-only). boto3 has no client
for the Events data plane, so the request is botocore's own: its signer and its pooled HTTP session
(connections are kept alive across a container's publishes: no TLS handshake per request)."""

import json
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError
from botocore.httpsession import URLLib3Session

MAX_EVENTS_PER_REQUEST = 5  # AppSync Events' limit for one publish
CONCURRENT_CHANNELS = 8  # one request publishes to one channel: a batch's rooms go out side by side


class PublishFailed(Exception):
    pass


class LiveChannels:
    def __init__(self, url: str, timeout_seconds: int):
        self.url = url
        self.timeout_seconds = timeout_seconds

    @cached_property
    def _session(self) -> boto3.session.Session:
        return boto3.session.Session()

    @cached_property
    def _http(self) -> URLLib3Session:
        return URLLib3Session(timeout=self.timeout_seconds, max_pool_connections=CONCURRENT_CHANNELS)

    def publish_all(self, events_by_channel: dict[str, list[dict[str, Any]]]) -> dict[str, PublishFailed]:
        """Publishes each channel's events (in order), several channels at a time; returns the
        channels whose publish failed, with why."""
        with ThreadPoolExecutor(min(CONCURRENT_CHANNELS, len(events_by_channel))) as pool:
            outcomes = pool.map(lambda item: (item[0], self._failure(*item)), events_by_channel.items())
            return {channel: failure for channel, failure in outcomes if failure}

    def _failure(self, channel: str, events: list[dict[str, Any]]) -> PublishFailed | None:
        try:
            self.publish(channel, events)
        except PublishFailed as failure:
            return failure
        return None

    def publish(self, channel: str, events: list[dict[str, Any]]) -> None:
        """Sends the events to everyone subscribed to `channel`, in order, five per request.
        Raises PublishFailed when the endpoint cannot be reached or refuses any of them."""
        for start in range(0, len(events), MAX_EVENTS_PER_REQUEST):
            batch = events[start : start + MAX_EVENTS_PER_REQUEST]
            answer = self._post({"channel": channel, "events": [json.dumps(event) for event in batch]})
            if answer.get("failed"):
                raise PublishFailed(f"{len(answer['failed'])} of {len(batch)} events refused: {answer['failed']}")

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        request = AWSRequest(
            "POST", self.url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
        )
        credentials = self._session.get_credentials()
        if credentials is None:
            raise PublishFailed("no AWS credentials to sign the publish with")
        SigV4Auth(credentials, "appsync", self._session.region_name).add_auth(request)
        try:
            response = self._http.send(request.prepare())
        except BotoCoreError as error:
            raise PublishFailed(f"{self.url}: {error}") from error
        if response.status_code != 200:
            raise PublishFailed(f"{self.url}: {response.status_code} {response.content[:200]!r}")
        try:
            return json.loads(response.content)
        except ValueError as error:
            raise PublishFailed(f"{self.url}: not JSON: {error}") from error
