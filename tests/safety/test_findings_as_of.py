"""Findings as they stood on a day (issue 12, defect 7): open critical findings and overdue findings as of the
end of a day count what was raised by then and not closed by then, whatever the status is now; critical
findings raised and closed within a period are told apart."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from headframe.safety import selectors
from headframe.safety.models import Finding
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _at(month: int, day: int, hour: int = 9) -> dt.datetime:
    return timezone.make_aware(dt.datetime(2026, month, day, hour, 0))


@pytest.fixture
def findings(tree):
    verifier = make_user("an_toan_a", ("safety_officer", "A"))
    face = tree.a_m1_k1_f1

    def make(title, created, closed=None, deadline=None, severity="critical"):
        return Finding.objects.create(
            position=face,
            severity=severity,
            title=title,
            deadline=deadline or (created + dt.timedelta(days=7)).date(),
            status="closed" if closed else "open",
            closed_at=closed,
            verified_by=verifier if closed else None,
            action_taken="Đã khắc phục" if closed else "",
            evidence="Biên bản" if closed else "",
            created_at=created,
        )

    return {
        "open": make("open", _at(9, 20), deadline=dt.date(2026, 10, 10)),
        "closed_later": make("closed_later", _at(10, 5), _at(11, 10), deadline=dt.date(2026, 10, 20)),
        "within": make("within", _at(10, 3), _at(10, 20), deadline=dt.date(2026, 10, 10)),
        "raised_later": make("raised_later", _at(12, 1), deadline=dt.date(2026, 12, 3)),
        "major": make("major", _at(9, 2), deadline=dt.date(2026, 9, 9), severity="major"),
    }


def _titles(items) -> list[str]:
    return sorted(getattr(i, "finding", i).title for i in items)


def test_open_critical_findings_as_of_a_day_ignore_later_raises_and_later_closures(tree, findings):
    site = tree.a_m1
    assert _titles(selectors.open_critical_findings(site, dt.date(2026, 10, 31))) == ["closed_later", "open"]
    assert _titles(selectors.open_critical_findings(site, dt.date(2026, 10, 15))) == [
        "closed_later",
        "open",
        "within",
    ]
    assert _titles(selectors.open_critical_findings(site, dt.date(2026, 3, 31))) == []
    # without a day: those open now, as before
    assert _titles(selectors.open_critical_findings(site)) == ["open", "raised_later"]
    assert list(selectors.open_critical_findings(tree.b)) == []


def test_a_finding_closed_during_the_day_is_no_longer_open_at_its_end(tree, findings):
    assert "within" not in _titles(selectors.open_critical_findings(tree.a, dt.date(2026, 10, 20)))
    assert "within" in _titles(selectors.open_critical_findings(tree.a, dt.date(2026, 10, 19)))


def test_overdue_findings_as_of_a_day(tree, findings):
    rows = selectors.overdue_findings(tree.a, dt.date(2026, 10, 31))
    assert _titles(rows) == ["closed_later", "major", "open"]
    assert {r.finding.title: r.days_overdue for r in rows} == {"closed_later": 11, "major": 52, "open": 21}
    assert _titles(selectors.overdue_findings(tree.a, dt.date(2026, 3, 31))) == []


def test_critical_findings_raised_and_closed_within_a_period(tree, findings):
    assert _titles(
        selectors.critical_findings_closed_within(tree.a, dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    ) == ["within"]
    assert _titles(
        selectors.critical_findings_closed_within(tree.a, dt.date(2026, 9, 1), dt.date(2026, 11, 30))
    ) == [
        "closed_later",
        "within",
    ]
