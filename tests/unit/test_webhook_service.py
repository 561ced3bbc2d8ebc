"""The API's webhook service against in-memory fakes: who may, what is refused and why, what the
activity log says, what a rotation keeps."""

from datetime import datetime

import pytest

from roomsnap.access import Caller
from roomsnap.errors import Conflict, Forbidden, NotFound, UnprocessableEntity
from roomsnap.models import Role
from roomsnap.ssrf import ForbiddenUrl, Target
from roomsnap.webhooks import MAX_WEBHOOKS_PER_ROOM, WebhookIn, WebhookPatch

from api.logic.webhooks import WebhookService, WebhookServices, url_origin

OWNER, VIEWER, ADMIN = Caller("o@x.io", False), Caller("v@x.io", False), Caller("root@x.io", True)


class FakeRooms:
    """RoomService.authorize's rules for one room, r1: o@x.io owns it, v@x.io views it."""

    roles = {"o@x.io": Role.OWNER, "v@x.io": Role.VIEWER}

    def authorize(self, caller, room_id, action):
        if caller.is_admin:
            return None
        role = self.roles.get(caller.email) if room_id == "r1" else None
        if role is None:
            raise NotFound("room not found")
        if role is not Role.OWNER:
            raise Forbidden(f"a {role.value} may not {action.value} in this room")
        return role


class FakeWebhooks:
    def __init__(self):
        self.items, self.audit = {}, []

    def create(self, webhook, audit):
        self.items[webhook.id] = webhook
        self.audit.append(audit)

    def of_room(self, room_id):
        return [w for w in self.items.values() if w.room_id == room_id]

    def get(self, room_id, webhook_id):
        webhook = self.items.get(webhook_id)
        return webhook if webhook and webhook.room_id == room_id else None

    def update(self, webhook, fields, audit, remove=(), expect_secret=False):
        changed = webhook.model_copy(update={**fields, **dict.fromkeys(remove)})
        self.items[webhook.id] = changed
        self.audit.append(audit)
        return changed


class FakeSecrets:
    def seal(self, secret, room_id, webhook_id):
        return f"sealed:{secret}"


def refuse_private(url: str) -> Target:
    if "10.0.0.1" in url:
        raise ForbiddenUrl("10.0.0.1 is a private address")
    return Target("https", "hooks.example.com", 443, "/", "93.184.216.34")


@pytest.fixture
def service():
    webhooks = FakeWebhooks()
    services = WebhookServices(webhooks, None, None, FakeSecrets(), None, refuse_private)
    return WebhookService(FakeRooms(), services), webhooks


def body(url="https://hooks.example.com/in?token=s3cret", events=("snapshot.completed",)) -> WebhookIn:
    return WebhookIn(url=url, events=list(events))


def test_the_owner_creates_a_webhook_whose_secret_is_shown_once_and_stored_sealed(service):
    webhooks_service, webhooks = service
    webhook, secret = webhooks_service.create(OWNER, "r1", body())
    assert webhook.secret_ciphertext == f"sealed:{secret}"
    assert secret.startswith("whsec_")
    (line,) = webhooks.audit
    assert (line.action, line.category, line.actor) == ("webhook.created", "audit", "o@x.io")
    assert line.detail == f"{webhook.id}: https://hooks.example.com"  # no path, no token


@pytest.mark.parametrize(("caller", "error"), [(VIEWER, Forbidden), (Caller("x@x.io", False), NotFound)])
def test_other_members_get_403_and_strangers_404(service, caller, error):
    webhooks_service, _ = service
    with pytest.raises(error):
        webhooks_service.create(caller, "r1", body())
    with pytest.raises(error):
        webhooks_service.list_for_room(caller, "r1")


def test_admins_manage_any_rooms_webhooks(service):
    webhooks_service, _ = service
    webhook, _ = webhooks_service.create(ADMIN, "r1", body())
    assert webhooks_service.get(ADMIN, "r1", webhook.id) == webhook


def test_a_forbidden_url_is_a_422_that_says_why(service):
    webhooks_service, _ = service
    with pytest.raises(UnprocessableEntity, match="cannot receive webhooks: 10.0.0.1 is a private address"):
        webhooks_service.create(OWNER, "r1", body("https://10.0.0.1/"))


def test_a_room_has_a_bounded_number_of_webhooks(service):
    webhooks_service, _ = service
    for _ in range(MAX_WEBHOOKS_PER_ROOM):
        webhooks_service.create(OWNER, "r1", body())
    with pytest.raises(Conflict, match=f"at most {MAX_WEBHOOKS_PER_ROOM}"):
        webhooks_service.create(OWNER, "r1", body())


def test_enabling_a_disabled_webhook_forgets_why_it_was_disabled(service):
    webhooks_service, webhooks = service
    webhook, _ = webhooks_service.create(OWNER, "r1", body())
    webhooks.items[webhook.id] = webhook.model_copy(
        update={"enabled": False, "disabled_reason": "410", "failing_since": "t"}
    )
    with pytest.raises(Conflict, match="disabled"):
        webhooks_service.send_test(OWNER, "r1", webhook.id)
    enabled = webhooks_service.update(OWNER, "r1", webhook.id, WebhookPatch(enabled=True))
    assert (enabled.enabled, enabled.disabled_reason, enabled.failing_since) == (True, None, None)
    assert webhooks.audit[-1].detail == f"{webhook.id}: enabled True"


def test_a_rotation_keeps_the_previous_secret_for_24_hours(service):
    webhooks_service, webhooks = service
    webhook, first = webhooks_service.create(OWNER, "r1", body())
    second, rotated = webhooks_service.rotate_secret(OWNER, "r1", webhook.id)
    assert second != first
    assert rotated.secret_ciphertext == f"sealed:{second}"
    assert rotated.previous_secret_ciphertext == f"sealed:{first}"
    created = webhooks.audit[-1].at
    assert rotated.previous_secret_expires_at == int(datetime.fromisoformat(created).timestamp()) + 86400
    assert webhooks.audit[-1].action == "webhook.secret_rotated"


def test_the_activity_log_names_a_receiver_by_scheme_and_host():
    assert url_origin("HTTPS://Hooks.Example.com:8443/a/b?token=x#f") == "https://hooks.example.com"
