"""Who may see a room: the caller a verified token names, and the room access rules.

Shared by the HTTP API (every request) and the live channel's on-subscribe handler (every
subscription), so both admit exactly the same people: a verified email, NFKC case-folded; admin
by an exact group name; membership read from the party item each time, so a removal or a
demotion takes effect at once everywhere."""

import json
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache

from roomsnap.dal import RoomRepository
from roomsnap.dal.transactions import Guard
from roomsnap.errors import Forbidden, NotFound
from roomsnap.models import Party, Role, normalize_email
from roomsnap.permissions import ROLE_ACTIONS, Action, roles_allowed

GROUP_CLAIMS = ("cognito:groups", "groups")
# Rooms are never deleted, so a room an admin has seen exists; the bound only limits memory.
KNOWN_ROOMS_LIMIT = 10_000


@dataclass(frozen=True)
class Caller:
    email: str  # normalized (NFKC, case-folded): the one form emails are compared in
    is_admin: bool


def groups_of(value: Any) -> set[str]:
    """A group claim as IdPs send it: a JSON list of names (Cognito's cognito:groups), a string
    holding such a list, or a single name. Names are compared whole, never by substring."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {value}
        value = parsed if isinstance(parsed, list) else [value]
    if isinstance(value, list):
        return {item for item in value if isinstance(item, str)}
    return set()


def is_verified(value: Any) -> bool:
    """email_verified is a JSON boolean in OpenID Connect; some IdPs (Cognito among them, in places)
    send the string "true"."""
    return value is True or value == "true"


def caller_from_claims(claims: dict[str, Any], admin_group: str, idp_verifies_emails: bool) -> Caller:
    """The caller a verified token's claims (with their JSON types) name. Raises Forbidden for a
    token without an email, or with one the IdP has not verified (unless it only issues verified
    ones): where users may set their own email, an unverified one would let one user act as another."""
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        raise Forbidden("your sign-in token carries no email address; this service identifies people by email")
    if not idp_verifies_emails and not is_verified(claims.get("email_verified")):
        raise Forbidden(
            f"the email address {email.strip()} is not verified by your identity provider; verify it there, "
            "then sign in again"
        )
    groups = set().union(*(groups_of(claims.get(name)) for name in GROUP_CLAIMS))
    return Caller(email=normalize_email(email), is_admin=admin_group in groups)


def refusal(party: Party | None, action: Action) -> Exception:
    """Why a caller may not: not a party (404, so a room's existence does not leak), or a party
    whose role does not allow the action (403)."""
    if party is None:
        return NotFound("room not found")
    article = "an" if party.role.value[0] in "aeiou" else "a"
    return Forbidden(f"{article} {party.role.value} may not {action.value} in this room")


class RoomAccess:
    """Who may do what in a room. Memberships are not cached: each check reads the caller's party
    item (one strongly consistent GetItem), so a removal or a demotion takes effect on every
    container at once."""

    def __init__(self, rooms: RoomRepository):
        self.rooms = rooms
        self._known_rooms: LRUCache[str, bool] = LRUCache(KNOWN_ROOMS_LIMIT)

    def authorize(self, caller: Caller, room_id: str, action: Action) -> Role | None:
        """Returns the caller's role (None for an admin). Non-members get 404, so a room's
        existence does not leak; members whose role does not allow the action get 403; admins
        may do anything in any existing room."""
        if caller.is_admin:
            if room_id not in self._known_rooms:
                if self.rooms.get_room(room_id) is None:
                    raise NotFound("room not found")
                self._known_rooms[room_id] = True
            return None
        party = self.rooms.get_party(room_id, caller.email)
        if party is None or action not in ROLE_ACTIONS[party.role]:
            raise refusal(party, action)
        return party.role

    def guards(self, caller: Caller, room_id: str, action: Action) -> list[Guard]:
        """What authorize checks, as conditions of the caller's own transaction instead of a read:
        the same 404 and 403, with no request of their own."""
        if caller.is_admin:
            if room_id in self._known_rooms:
                return []
            return [self.rooms.room_guard(room_id, lambda: NotFound("room not found"))]
        roles = roles_allowed(action)
        return [self.rooms.party_guard(room_id, caller.email, roles, lambda party: refusal(party, action))]

    def readable(self, caller: Caller, room_ids: set[str]) -> set[str]:
        """Which of these rooms the caller may read, in one batch read."""
        if caller.is_admin:
            return room_ids
        roles = self.rooms.roles_in(caller.email, room_ids)
        return {room_id for room_id, role in roles.items() if Action.READ in ROLE_ACTIONS[role]}
