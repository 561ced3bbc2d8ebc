"""Browser tests: Debian's Chromium, driven by Playwright, against the web app on an emulated stack.

The stack serves web/dist (built by `make web`) at / and is the development OIDC provider the app signs in
with, so every sign-in here runs the app's real OpenID Connect code path (via /_local/sign-in).
"""

import re
from dataclasses import dataclass, field

import pytest

from scripts.local import emulate
from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, ROOT
from tests.support import ApiClient

if not CHROMIUM.exists() or not (ROOT / "web" / "dist" / "index.html").exists():
    pytest.skip("needs /usr/bin/chromium and web/dist (make browser-deps web)", allow_module_level=True)

playwright_api = pytest.importorskip("playwright.sync_api")


# This stack's render budget (rows a snapshot may print): far above what these tests' rooms print, and
# a room over it (the dashboard's failed snapshot) a few requests away.
BUDGET_ROWS = 30


@pytest.fixture(scope="package")
def stack():
    budget = {"REPORT_MAX_ROWS": str(BUDGET_ROWS)}
    overrides = {"RendererFunction": budget, "ApiFunction": budget}
    with emulate(
        port=0, start_schedules=False, stack_name="room-snapshots-browser", env_overrides=overrides
    ) as running:
        yield running


@pytest.fixture(scope="package")
def browser():
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Problems:
    """What a person would notice went wrong: console errors, uncaught exceptions, failed or refused requests."""

    seen: list[str] = field(default_factory=list)

    def watch(self, page) -> None:
        page.on("console", lambda message: message.type == "error" and self.seen.append(f"console: {message.text}"))
        page.on("pageerror", lambda error: self.seen.append(f"exception: {error}"))
        page.on("requestfailed", self._failed)
        page.on(
            "response",
            lambda response: response.status >= 400 and self.seen.append(f"{response.status}: {response.url}"),
        )

    def _failed(self, request) -> None:
        # A load that a navigation of the test's own (page.goto) cut short failed nobody.
        if request.failure != "net::ERR_ABORTED":
            self.seen.append(f"failed: {request.method} {request.url} ({request.failure})")


@dataclass
class Session:
    page: object
    problems: Problems
    email: str


@pytest.fixture
def sign_in(stack, browser):
    """sign_in("ana@x.io", admin=False) -> Session: a new browser context signed in through the app's OIDC flow."""
    contexts = []

    def open_session(email: str, admin: bool = False, **context_options) -> Session:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, **context_options)
        contexts.append(context)
        page = context.new_page()
        problems = Problems()
        problems.watch(page)
        page.goto(f"{stack.base_url}/_local/sign-in?email={email}{'&admin=1' if admin else ''}")
        page.wait_for_url(f"{stack.base_url}/")
        page.get_by_role("heading", name=re.compile("^(My|All) rooms$")).wait_for()
        page.wait_for_load_state("networkidle")  # the rooms list is in: a test's next goto aborts nothing
        return Session(page, problems, email)

    yield open_session
    for context in contexts:
        context.close()


@pytest.fixture
def api(stack):
    """ApiClient for a user, to arrange what a test needs without clicking: api("ana@x.io")."""
    return lambda email, admin=False: ApiClient(stack.base_url, stack.mint_token(email, admin))
