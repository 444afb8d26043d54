"""The crawl: each demo role logs in and walks the pages the navigation leads to, in Vietnamese and English, at
1366×768 (a control-room screen). Any 4xx/5xx (page or asset), console error, Content-Security-Policy
violation, element sticking out of the window, or English service message in the Vietnamese UI fails it.

Kept fast for CI (< 2 min): the demo's users on a small tree built with tests/factories; every role walks
its menu in both languages, and the admin (who sees everything) also walks one page per kind linked from each
menu page."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from headframe.demo import DEMO_PASSWORD
from tests.e2e.servers import shot
from tests.factories import make_user

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


def _log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{base}/")


def _set_language(page, base: str, lang: str) -> None:
    from django.conf import settings

    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": lang, "url": base}])


# The demo's users (headframe.demo.DEMO_USERS) on the small test tree (tests/conftest.py: G → A, B → sites …).
DEMO_ROLES = {
    "admin": ("admin", "G"),
    "planner": ("planner", "G"),
    "viewer": ("viewer", "G"),
    "dispatcher": ("dispatcher", "A"),
    "safety": ("safety_officer", "A"),
    "reporter": ("reporter", "A-M1"),
}


@pytest.fixture
def demo(tree, indicator_catalogue, limit_profiles):
    """A small tree with the demo's users and a meeting with a directive: loading the whole demo takes a
    minute, and the pages, not the figures, are under test here."""
    import datetime as dt

    from django.utils import timezone

    from headframe.briefing import services as briefing
    from headframe.production import services as production

    users = {name: make_user(name, grant, password=DEMO_PASSWORD) for name, grant in DEMO_ROLES.items()}
    today = timezone.localdate()
    production.plan_version_create(
        actor=None,
        unit_code="A-M1",
        year=today.year,
        effective_from=dt.date(today.year, 1, 1),
        values={"raw_coal_t": 365_000},
    )
    production.actuals_upsert(
        actor=None,
        rows=[
            production.ActualRow("A-M1-K1-F1", "raw_coal_t", today - dt.timedelta(days=n), 0, 950 + n)
            for n in range(1, 8)
        ],
        source="api",
    )
    meeting = briefing.meeting_create(
        actor=users["planner"],
        unit_code="G",
        title="Giao ban tuần",
        starts_at=timezone.now() + dt.timedelta(days=1),
        period_start=today - dt.timedelta(days=7),
        period_end=today - dt.timedelta(days=1),
        chair=users["planner"],
    )
    briefing.directive_create(
        actor=users["planner"],
        text="Gia cố lò chợ",
        owner_unit_code="A-M1",
        deadline=today + dt.timedelta(days=10),
        meeting=meeting,
    )
    return users


def _walk_role(browser, base: str, role: str) -> list[str]:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        walk = Walk(page, base)
        _log_in(page, base, role)
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


def test_every_page_of_the_menu_is_clean_for_every_demo_role(demo, live_server, browser):
    problems: list[str] = []
    for role in DEMO_ROLES:
        problems += _walk_role(browser, live_server.url, role)
    assert not problems, "\n".join(problems)
