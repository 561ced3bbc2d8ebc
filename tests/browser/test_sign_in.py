"""Signing in and out through the development OIDC provider, as a person does it: the page's Sign in button,
the provider's form, and back to where they were going."""

import base64
import json

from tests.browser.helpers import screenshot

ID_TOKEN = """() => {
  const key = Object.keys(sessionStorage).find((name) => name.startsWith("oidc.user:"));
  return key ? JSON.parse(sessionStorage.getItem(key)).id_token : null;
}"""


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_a_new_user_signs_in_with_the_providers_form_and_lands_where_they_were_going(stack, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{stack.base_url}/admin")  # a deep link, opened signed out
    page.get_by_role("button", name="Sign in").wait_for()
    screenshot(page, "signed-out")

    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Development sign-in").wait_for()
    assert page.url.startswith(f"{stack.issuer}/authorize?")
    assert "code_challenge_method=S256" in page.url
    assert page.get_by_text("Development only").is_visible()
    screenshot(page, "development-sign-in")
    page.get_by_label("Email").fill("New.Admin@Example.com")
    page.get_by_label("Admin").check()
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("heading", name="Dashboard").wait_for()
    assert page.url == f"{stack.base_url}/admin"
    assert page.get_by_text("new.admin@example.com").is_visible()
    claims = claims_of(page.evaluate(ID_TOKEN))
    assert claims["iss"] == stack.issuer
    assert claims["email_verified"] is True
    assert claims["cognito:groups"] == ["admin"]

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.evaluate(ID_TOKEN) is None
    page.reload()
    page.get_by_role("button", name="Sign in").wait_for()
    context.close()


def test_a_pre_approved_sign_in_runs_the_same_flow_and_a_non_admin_sees_no_dashboard(stack, sign_in):
    session = sign_in("plain.user@example.com")
    page = session.page

    assert page.get_by_role("link", name="Dashboard").count() == 0
    claims = claims_of(page.evaluate(ID_TOKEN))
    assert claims["iss"] == stack.issuer
    assert "cognito:groups" not in claims
    page.goto(f"{stack.base_url}/admin")
    page.get_by_role("heading", name="Page not found").wait_for()
    assert session.problems.seen == []
