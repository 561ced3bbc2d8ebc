from roomsnap.models import Role
from roomsnap.permissions import ROLE_ACTIONS, Action, roles_allowed


def test_a_viewer_may_read_and_download_but_change_nothing():
    assert ROLE_ACTIONS[Role.VIEWER] == {Action.READ, Action.DOWNLOAD}


def test_every_role_but_viewer_may_create_cancel_and_delete_snapshots():
    for action in (Action.CREATE_SNAPSHOT, Action.CANCEL_SNAPSHOT, Action.DELETE_SNAPSHOT):
        assert set(roles_allowed(action)) == set(Role) - {Role.VIEWER}


def test_only_owners_and_brokers_add_parties():
    assert set(roles_allowed(Action.MANAGE_PARTIES)) == {Role.OWNER, Role.BROKER}


def test_only_owners_change_or_remove_parties():
    assert roles_allowed(Action.CHANGE_PARTIES) == [Role.OWNER]
