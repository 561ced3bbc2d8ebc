import pytest

from roomsnap.errors import Forbidden
from roomsnap.models import Role
from roomsnap.permissions import ROLE_ACTIONS, Action, roles_allowed

from api_logic.caller import caller_from_claims


def test_a_viewer_may_read_and_download_but_change_nothing():
    assert ROLE_ACTIONS[Role.VIEWER] == {Action.READ, Action.DOWNLOAD}


def test_every_role_but_viewer_may_create_cancel_and_delete_snapshots():
    for action in (Action.CREATE_SNAPSHOT, Action.CANCEL_SNAPSHOT, Action.DELETE_SNAPSHOT):
        assert set(roles_allowed(action)) == set(Role) - {Role.VIEWER}


def test_only_owners_and_brokers_manage_parties():
    assert set(roles_allowed(Action.MANAGE_PARTIES)) == {Role.OWNER, Role.BROKER}


@pytest.mark.parametrize(
    ("claims", "admin"),
    [
        ({"email": "A@X.io", "cognito:groups": "[admin ops]"}, True),  # API Gateway's string form
        ({"email": "a@x.io", "groups": ["ops", "admin"]}, True),
        ({"email": "a@x.io", "cognito:groups": "[administrators]"}, False),
        ({"email": "a@x.io"}, False),
    ],
)
def test_admin_is_a_group_claim(claims, admin):
    caller = caller_from_claims(claims, "admin")
    assert caller.is_admin is admin
    assert caller.email == "a@x.io"


def test_a_token_without_email_is_refused():
    with pytest.raises(Forbidden):
        caller_from_claims({"sub": "123"}, "admin")
