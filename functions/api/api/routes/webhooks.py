"""A room's webhooks (owners and admins): endpoints, secrets, test events, the delivery log, replays."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from roomsnap.models import API_PREFIX
from roomsnap.webhooks import MESSAGE_ID_PATTERN, WebhookIn, WebhookPatch

from api.logic.views import (
    CreatedWebhookView,
    DeliveryAttemptView,
    QueuedMessageView,
    RotatedSecretView,
    WebhookView,
    webhook_view,
)
from api.openapi_docs import NEXT_PAGE, NO_CONTENT, WRITE_ERRORS, errors, header, links, returns
from api.routes.http import Cursor, ItemId, Limit, RoomId, caller, json_response, page
from api.services import webhooks

router = Router()
MessageId = Annotated[str, Path(pattern=MESSAGE_ID_PATTERN)]
WEBHOOK_LINKS = links(
    ["getWebhook", "updateWebhook", "deleteWebhook", "rotateWebhookSecret", "testWebhook", "listWebhookDeliveries"],
    room_id="$request.path.room_id",
    webhook_id="$response.body#/id",
)


@router.post(
    "/rooms/<room_id>/webhooks",
    operation_id="createWebhook",
    responses={
        201: returns(
            CreatedWebhookView,
            "The webhook, with its signing secret (shown in this answer only)",
            headers={"Location": header("The webhook's URL", required=True)},
            links=WEBHOOK_LINKS,
        ),
        **errors(404, 409, *WRITE_ERRORS),
    },
)
def create_webhook(room_id: RoomId, body: WebhookIn):
    """422 when the URL may not receive webhooks (not https, or not a public address), saying why."""
    webhook, secret = webhooks.create(caller(router), room_id, body)
    headers = {"Location": f"{API_PREFIX}/rooms/{room_id}/webhooks/{webhook.id}"}
    return json_response(201, {**webhook_view(webhook), "secret": secret}, headers)


@router.get(
    "/rooms/<room_id>/webhooks",
    operation_id="listWebhooks",
    responses={200: returns(list[WebhookView], "The room's webhooks, oldest first"), **errors(404)},
)
def list_webhooks(room_id: RoomId):
    return json_response(200, [webhook_view(webhook) for webhook in webhooks.list_for_room(caller(router), room_id)])


@router.get(
    "/rooms/<room_id>/webhooks/<webhook_id>",
    operation_id="getWebhook",
    responses={200: returns(WebhookView, "The webhook"), **errors(404)},
)
def get_webhook(room_id: RoomId, webhook_id: ItemId):
    return json_response(200, webhook_view(webhooks.get(caller(router), room_id, webhook_id)))


@router.patch(
    "/rooms/<room_id>/webhooks/<webhook_id>",
    operation_id="updateWebhook",
    responses={200: returns(WebhookView, "The webhook, changed"), **errors(404, 409, *WRITE_ERRORS)},
)
def update_webhook(room_id: RoomId, webhook_id: ItemId, body: WebhookPatch):
    return json_response(200, webhook_view(webhooks.update(caller(router), room_id, webhook_id, body)))


@router.delete(
    "/rooms/<room_id>/webhooks/<webhook_id>",
    operation_id="deleteWebhook",
    responses={204: {"description": "Deleted", "content": NO_CONTENT}, **errors(404)},
)
def delete_webhook(room_id: RoomId, webhook_id: ItemId):
    webhooks.delete(caller(router), room_id, webhook_id)
    return Response(204)


@router.post(
    "/rooms/<room_id>/webhooks/<webhook_id>/rotate-secret",
    operation_id="rotateWebhookSecret",
    responses={
        200: returns(RotatedSecretView, "The new secret; the previous one stays valid for 24 hours"),
        **errors(404, 409, *WRITE_ERRORS),
    },
)
def rotate_webhook_secret(room_id: RoomId, webhook_id: ItemId):
    secret, webhook = webhooks.rotate_secret(caller(router), room_id, webhook_id)
    view = webhook_view(webhook)
    return json_response(200, {"secret": secret, "previous_secret_expires_at": view["previous_secret_expires_at"]})


@router.post(
    "/rooms/<room_id>/webhooks/<webhook_id>/test",
    operation_id="testWebhook",
    responses={
        202: returns(QueuedMessageView, "A webhook.test event is on its way"),
        **errors(404, 409, *WRITE_ERRORS),
    },
)
def test_webhook(room_id: RoomId, webhook_id: ItemId):
    return json_response(202, {"message_id": webhooks.send_test(caller(router), room_id, webhook_id)})


@router.get(
    "/rooms/<room_id>/webhooks/<webhook_id>/deliveries",
    operation_id="listWebhookDeliveries",
    responses={
        200: returns(list[DeliveryAttemptView], "Every attempt, newest first", headers=NEXT_PAGE),
        **errors(400, 404),
    },
)
def list_webhook_deliveries(room_id: RoomId, webhook_id: ItemId, limit: Limit = 50, cursor: Cursor = None):
    attempts, next_cursor = webhooks.deliveries(caller(router), room_id, webhook_id, limit, cursor)
    return page([attempt.model_dump() for attempt in attempts], next_cursor)


@router.post(
    "/rooms/<room_id>/webhooks/<webhook_id>/deliveries/<message_id>/retry",
    operation_id="retryWebhookDelivery",
    responses={
        202: returns(QueuedMessageView, "The message is re-sent now, with the same webhook-id"),
        **errors(404, 409, *WRITE_ERRORS),
    },
)
def retry_webhook_delivery(room_id: RoomId, webhook_id: ItemId, message_id: MessageId):
    return json_response(202, {"message_id": webhooks.retry(caller(router), room_id, webhook_id, message_id)})
