"""What the browser tests do to a page besides clicking: screenshots, axe-core, walking it by keyboard."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / ".local" / "screenshots"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"

# Everything a person can operate; disabled controls and those inside closed <details> are not reachable.
FOCUSABLE = "a[href], button, input, select, textarea, summary, iframe, [tabindex]:not([tabindex='-1'])"


def screenshot(page, name: str) -> None:
    """Kept under .local/screenshots/ (ignored by git) for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def axe_violations(page, impacts: tuple[str, ...] = ("critical",)) -> list[str]:
    """axe-core's violations of these impacts, one line each (the page's context must bypass its CSP)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['impact']}: {violation['id']} ({violation['help']}) at "
        + ", ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in result["violations"]
        if violation["impact"] in impacts
    ]


def operable_elements(page) -> list[str]:
    """A description of every visible, enabled control, marking each with data-keyboard-id to recognise it."""
    return page.evaluate(
        """selector => [...document.querySelectorAll(selector)]
            .filter(element => !element.disabled && element.getClientRects().length && !element.closest('[hidden]'))
            .map((element, index) => {
              element.dataset.keyboardId = String(index);
              return `${element.tagName.toLowerCase()} "${(element.innerText || element.value || element.name ||
                element.getAttribute('aria-label') || '').trim().slice(0, 40)}"`;
            })""",
        FOCUSABLE,
    )


def tab_through(page, limit: int) -> list[dict]:
    """Presses Tab up to `limit` times from the top of the page; for each focus: its keyboard id and outline."""
    page.evaluate("() => { document.activeElement?.blur(); window.scrollTo(0, 0); }")
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(
            """() => {
              const element = document.activeElement;
              const style = getComputedStyle(element);
              return {id: element.dataset.keyboardId ?? null, tag: element.tagName.toLowerCase(),
                      outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2};
            }"""
        )
        if stop["tag"] == "body":
            break
        stops.append(stop)
    return stops
