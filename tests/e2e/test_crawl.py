"""The crawl: each demo role logs in and walks the pages the navigation leads to, in Vietnamese and English, at
1366×768 (a control-room screen). Any 4xx/5xx (page or asset), console error, Content-Security-Policy
violation, element sticking out of the window, or English service message in the Vietnamese UI fails it.

It walks the demo itself, loaded once into a server of its own as `make demo` loads it: every role walks its
menu in both languages, and the admin (who sees everything) also walks one page per kind linked from each menu
page."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.e2e.servers import log_in, serve, shot

pytestmark = pytest.mark.e2e

VIEWPORT = {"width": 1366, "height": 768}

# Service messages (and Django's bare error pages) that must never reach a Vietnamese page in English.
ENGLISH_SERVICE_MESSAGES = [
    "negative value",
    "is in the future",
    "is in the past",
    "Bad Request",
    "Forbidden",
    "Server Error",
    "Not Found",
    "unknown",
    "not found",
    "expected one of",
    "outside your scope",
    "you may not",
    "you have no role",
    "say how it was done",
    "is reported both",
    "already closed",
    "required",
]

# Links not to follow: downloads, live streams, the Django admin, the API, leaving.
SKIP = re.compile(
    r"format=|\.pdf|\.xlsx|\.csv|\.json|/stream|/room|/admin/|/api/|/accounts/|/i18n/|^#|export"
)

# Where the page sticks out of the window: elements beyond the right edge that are not inside a horizontally
# scrolling box (a wide table may scroll inside its card; the page itself must not).
OVERFLOW_JS = """() => {
  const vw = document.documentElement.clientWidth, out = [];
  if (document.documentElement.scrollWidth <= vw + 1) return out;
  out.push('page is ' + document.documentElement.scrollWidth + ' px wide');
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= vw + 1) continue;
    let p = el.parentElement, inScroller = false;
    while (p && p !== document.body) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') { inScroller = true; break; }
      p = p.parentElement;
    }
    if (!inScroller) out.push(el.tagName.toLowerCase() + '.' + String(el.className).split(' ')[0] + ' ends at ' + Math.round(r.right));
    if (out.length > 4) break;
  }
  return out;
}"""

CSP_LISTENER = """document.addEventListener('securitypolicyviolation', e =>
  console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI + ' at ' + e.sourceFile + ':' + e.lineNumber));"""


def _pattern(url: str) -> str:
    """One page per kind: /briefing/meetings/12/ and /briefing/meetings/7/ are the same kind of page."""
    path = urlsplit(url).path
    return re.sub(r"/[^/]*[0-9A-Z][^/]*", "/*", path)


class Walk:
    def __init__(self, page, base: str):
        self.page, self.base = page, base
        self.problems: list[str] = []
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on(
            "response",
            lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        page.add_init_script(CSP_LISTENER)

    def visit(self, url: str, lang: str) -> list[str]:
        """Open url; record what is wrong with it; return the same-site links of its main area."""
        self.errors.clear()
        response = self.page.goto(self.base + url)
        self.page.wait_for_load_state("load")
        where = f"[{lang}] {url}"
        if response is None or response.status >= 400:
            self.problems.append(f"{where}: status {response.status if response else 'none'}")
        for e in self.errors:
            self.problems.append(f"{where}: {e[:200]}")
        for o in self.page.evaluate(OVERFLOW_JS):
            self.problems.append(f"{where}: {o}")
        if lang == "vi":
            text = self.page.locator("body").inner_text()
            for phrase in ENGLISH_SERVICE_MESSAGES:
                if re.search(rf"\b{re.escape(phrase)}\b", text):
                    self.problems.append(f"{where}: English message {phrase!r} in the Vietnamese UI")
        return self.page.eval_on_selector_all("main a[href]", "els => els.map(e => e.getAttribute('href'))")


def _set_language(page, base: str, lang: str) -> None:
    from django.conf import settings

    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": lang, "url": base}])


# Every person-facing demo account (headframe.demo.DEMO_USERS without the gateway's machine account).
DEMO_ROLES = (
    "admin",
    "planner",
    "viewer",
    "dispatcher",
    "safety",
    "reporter",
    "reporter_vso",
    "personnel",
    "lamp_room",
    "overman",
    "medical",
)


def seed() -> None:
    """Run in a subprocess against the server's database: the demo exactly as `make demo` loads it (two years
    of figures rather than three, which is all the pages compare), so the walk sees the real group's
    30-odd companies, long Vietnamese names and full tables."""
    import json

    import django

    django.setup()
    from headframe.demo import DEMO_USERS, MACHINE_USERS, load_demo

    load_demo(production_years=2)
    assert set(DEMO_ROLES) == set(DEMO_USERS) - MACHINE_USERS, "a demo account is missing from the crawl"
    print(json.dumps({}))


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    yield from serve(tmp_path_factory.mktemp("crawl"), "tests.e2e.test_crawl")


def _walk_role(browser, base: str, role: str) -> list[str]:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        walk = Walk(page, base)
        log_in(page, base, role)
        menu = page.eval_on_selector_all(
            "nav.sidenav a[data-testid^=nav-]", "els => els.map(e => e.getAttribute('href'))"
        )
        assert menu, f"{role} sees no menu"
        deeper: dict[str, str] = {}
        for lang in ("vi", "en"):
            _set_language(page, base, lang)
            for url in menu:
                links = walk.visit(url, lang)
                if role == "admin" and lang == "vi":
                    for link in links:
                        if link.startswith("/") and not SKIP.search(link) and link not in menu:
                            deeper.setdefault(_pattern(link), link)
            shot(page, f"crawl-{role}-{lang}")
        for lang in ("vi", "en"):
            _set_language(page, base, lang)
            for url in deeper.values():
                walk.visit(url, lang)
        return [f"{role} {p}" for p in walk.problems]
    finally:
        context.close()


@pytest.mark.parametrize("role", DEMO_ROLES)
def test_every_page_of_the_menu_is_clean_for_the_demo_role(demo_server, browser, role):
    problems = _walk_role(browser, demo_server["url"], role)
    assert not problems, "\n".join(problems)


if __name__ == "__main__":  # the server fixture seeds its database by running this module
    seed()
