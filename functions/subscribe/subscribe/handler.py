"""AppSync Events on-subscribe handler: admits a subscriber to /rooms/<room_id> only if the HTTP API
would let them read that room. Who they are and what they may see are decided by the same code as
the API's (roomsnap.access): a verified email, the admin group read exactly, the party item read at
each subscription, so a removed party is refused from their next subscribe on.

AppSync has checked the token (signature, issuer, client id, lifetime) before this runs and hands
over its claims with their JSON types. Any other channel of the namespace is refused, wildcards
("/rooms/*") included: a subscription to one would receive every room's events."""

import re

from aws_lambda_powertools.event_handler import AppSyncEventsResolver
from aws_lambda_powertools.event_handler.events_appsync.exceptions import UnauthorizedException

from roomsnap.access import RoomAccess, caller_from_claims
from roomsnap.config import settings
from roomsnap.dal.rooms import RoomRepository
from roomsnap.errors import Forbidden, NotFound
from roomsnap.models import ID_PATTERN
from roomsnap.observability import logged_with_context, logger, traced
from roomsnap.permissions import Action

SETTINGS = settings()
access = RoomAccess(RoomRepository(SETTINGS.table_name))
app = AppSyncEventsResolver()
ROOM_ID = re.compile(ID_PATTERN)


@app.on_subscribe("/*")
def admit() -> None:
    segments = app.current_event.info.channel_segments
    if len(segments) != 2 or segments[0] != "rooms" or not ROOM_ID.match(segments[1]):
        raise UnauthorizedException("subscribe to one room's channel: /rooms/<room id>")
    room_id = segments[1]
    claims = (app.current_event.raw_event.get("identity") or {}).get("claims") or {}
    try:
        caller = caller_from_claims(claims, SETTINGS.admin_group, SETTINGS.idp_verifies_emails)
    except Forbidden as refusal:  # no email, or one the IdP has not verified
        logger.info("subscription refused", extra={"room_id": room_id, "reason": str(refusal)})
        raise UnauthorizedException(str(refusal)) from None
    try:
        access.authorize(caller, room_id, Action.READ)
    except (Forbidden, NotFound) as refusal:
        logger.info("subscription refused", extra={"room_id": room_id, "reason": str(refusal)})
        # Not a member and no such room read alike, as in the API: a room's existence does not leak.
        raise UnauthorizedException("you are not a party of this room") from None
    logger.info("subscription admitted", extra={"room_id": room_id, "admin": caller.is_admin})


@traced
@logged_with_context()
def lambda_handler(event: dict, context) -> dict | None:
    return app.resolve(event, context)
