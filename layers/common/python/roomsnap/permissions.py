"""What each room role may do. Admins (a token claim) may do everything in every room."""

from enum import StrEnum

from roomsnap.models import Role


class Action(StrEnum):
    READ = "read"
    DOWNLOAD = "download"
    EDIT_ROOM = "edit room data"
    APPROVE = "record approvals"
    MANAGE_PARTIES = "add parties"
    CHANGE_PARTIES = "change or remove parties"
    CREATE_SNAPSHOT = "create snapshots"
    CANCEL_SNAPSHOT = "cancel snapshots"
    DELETE_SNAPSHOT = "delete snapshots"
    MANAGE_WEBHOOKS = "manage webhooks"  # owners only (and admins): webhooks carry the room's data out


_SNAPSHOTS = {Action.READ, Action.DOWNLOAD, Action.CREATE_SNAPSHOT, Action.CANCEL_SNAPSHOT, Action.DELETE_SNAPSHOT}

ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.OWNER: frozenset(Action),  # the only role that may change or remove parties
    Role.BROKER: frozenset(_SNAPSHOTS | {Action.EDIT_ROOM, Action.APPROVE, Action.MANAGE_PARTIES}),
    Role.OPERATOR: frozenset(_SNAPSHOTS | {Action.EDIT_ROOM, Action.APPROVE}),
    Role.INSPECTOR: frozenset(_SNAPSHOTS | {Action.APPROVE}),
    Role.VIEWER: frozenset({Action.READ, Action.DOWNLOAD}),
}


def roles_allowed(action: Action) -> list[Role]:
    return [role for role, actions in ROLE_ACTIONS.items() if action in actions]
