"""The tablet saves answers in the background while the inspector may press "Sign", and a second tablet may
hold the same inspection: requests that arrive at once through a real server (one connection per thread) all
succeed or are refused cleanly, and every answer is stored exactly once. On SQLite this needs the file test
database (tests/conftest.py): in memory, the live server's threads share one connection."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from headframe.safety.models import Answer, Inspection, InspectionStatus
from tests.factories import make_user
from tests.safety.conftest import good_answers, restart_campaign_from_yesterday

# Two tablets on one inspection, each with a few saves in flight (the page saves an item when it changes).
WRITERS_PER_ITEM = 2
ITEMS_AT_ONCE = 8


@pytest.fixture
def inspection(tree):
    restart_campaign_from_yesterday(make_user("an_toan", ("safety_officer", "A")))
    return Inspection.objects.get(position__code="A-M1-K1-F1")


def _body(answers) -> list[dict]:
    return [
        {"item": a.item, "choice": a.choice, "number": a.number, "text": a.text, "note": a.note}
        for a in answers
    ]


def _all_at_once(calls) -> list[int]:
    """Run every (method, url, body, headers) call in a thread of its own, released together; their statuses."""
    start = threading.Barrier(len(calls))
    statuses: list[int] = [0] * len(calls)

    def call(n, method, url, body, headers):
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            method=method,
            headers={**headers, "Content-Type": "application/json"},
        )
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                statuses[n] = response.status
        except urllib.error.HTTPError as exc:
            statuses[n] = exc.code

    threads = [threading.Thread(target=call, args=(n, *c)) for n, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def _headers(token_for) -> dict:
    header = token_for(make_user("an_toan_2", ("safety_officer", "A")))["HTTP_AUTHORIZATION"]
    return {"Authorization": header}


def test_background_saves_at_once_store_every_answer_once(live_server, inspection, token_for):
    url = f"{live_server.url}/api/v1/safety/inspections/{inspection.pk}/answers"
    headers = _headers(token_for)
    answers = good_answers(inspection)[:ITEMS_AT_ONCE]
    calls = [("PUT", url, {"answers": _body([a])}, headers) for a in answers for _ in range(WRITERS_PER_ITEM)]

    statuses = _all_at_once(calls)

    assert statuses == [200] * len(calls)
    stored = list(Answer.objects.filter(inspection=inspection).values_list("item__code", flat=True))
    assert sorted(stored) == sorted(a.item for a in answers)


def test_sign_while_saves_arrive_is_clean_and_keeps_every_answer(live_server, inspection, token_for):
    base = f"{live_server.url}/api/v1/safety/inspections/{inspection.pk}"
    headers = _headers(token_for)
    answers = good_answers(inspection)
    saves = [("PUT", f"{base}/answers", {"answers": _body([a])}, headers) for a in answers[:ITEMS_AT_ONCE]]
    sign = ("POST", f"{base}/sign", {"answers": _body(answers)}, headers)

    statuses = _all_at_once([sign, *saves])

    assert statuses[0] == 200, "the sign carried every answer: nothing may refuse it"
    # A save that comes after the sign is refused as a conflict (the inspection is closed), never a 5xx.
    assert set(statuses[1:]) <= {200, 409}, statuses
    inspection.refresh_from_db()
    assert inspection.status == InspectionStatus.SIGNED
    stored = list(Answer.objects.filter(inspection=inspection).values_list("item__code", flat=True))
    assert sorted(stored) == sorted(a.item for a in answers)
