"""Page turns (core.middleware.PageTurnMiddleware): at most settings.WEB_THREADS page reads of a process run at
once, the others wait their turn; safety pages have turns of their own; writes, async views (the event streams)
and the health check never wait; a turn is given back however the request ends; a request that cannot get one
in time is told so (503), never left hanging."""

from __future__ import annotations

import threading

import pytest
from django.http import Http404, HttpResponse
from django.test import Client, RequestFactory
from django.utils import translation

from headframe.core import middleware as middlewares
from headframe.core.middleware import PageTurnMiddleware
from tests.factories import make_user

WAIT_S = 30.0  # a bound for a test that would otherwise hang, never a timing assertion


def page_view(request):
    return HttpResponse("page")


async def stream_view(request):
    return HttpResponse("stream")


def test_no_more_pages_run_at_once_than_web_threads_and_every_one_is_served(settings):
    settings.WEB_THREADS = 2
    lock = threading.Lock()
    running = peak = arrived = 0
    all_arrived = threading.Event()
    release = threading.Event()

    def get_response(request):
        nonlocal running, peak, arrived
        with lock:
            arrived += 1
            if arrived == 5:
                all_arrived.set()
        middleware.process_view(request, page_view, (), {})  # as Django does, once the view is known
        with lock:
            running += 1
            peak = max(peak, running)
        release.wait(WAIT_S)
        with lock:
            running -= 1
        return page_view(request)

    middleware = PageTurnMiddleware(get_response)
    responses: list[HttpResponse] = []
    threads = [
        threading.Thread(target=lambda: responses.append(middleware(RequestFactory().get("/"))))
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    assert all_arrived.wait(WAIT_S)
    release.set()
    for thread in threads:
        thread.join(WAIT_S)
    assert [r.content for r in responses] == [b"page"] * 5
    assert peak == 2


def test_an_event_stream_never_waits_behind_pages(settings):
    settings.WEB_THREADS = 1
    middleware = PageTurnMiddleware(lambda request: HttpResponse())
    middleware.page_turns.acquire()  # pages hold every turn
    middleware.safety_turns.acquire()
    request = RequestFactory().get("/telemetry/A-M1/stream")
    opened = threading.Thread(target=middleware.process_view, args=(request, stream_view, (), {}))
    opened.start()
    opened.join(WAIT_S)
    assert not opened.is_alive()
    assert "_page_turn" not in request.__dict__


def _returns_at_once(middleware, request, view=page_view):
    """process_view in a thread, bounded: whether it came back (a request that waited would still be there)."""
    answers: list = []
    asking = threading.Thread(target=lambda: answers.append(middleware.process_view(request, view, (), {})))
    asking.start()
    asking.join(WAIT_S)
    return not asking.is_alive(), answers[0] if answers else None


def test_safety_pages_writes_and_the_health_check_never_wait_behind_pages(settings):
    settings.WEB_THREADS = 1
    middleware = PageTurnMiddleware(lambda request: HttpResponse())
    middleware.page_turns.acquire()  # a pack being built holds the only page turn
    factory = RequestFactory()
    live = factory.get("/telemetry/A-M1/")
    came_back, answer = _returns_at_once(middleware, live)
    assert came_back and answer is None and live.__dict__["_page_turn"] is middleware.safety_turns
    for request in (
        factory.post("/api/v1/telemetry/readings", data=b"{}", content_type="application/json"),
        factory.post("/telemetry/alarms/7/ack/"),
        factory.get("/healthz"),
    ):
        came_back, answer = _returns_at_once(middleware, request)
        assert came_back and answer is None and "_page_turn" not in request.__dict__


def test_a_page_that_cannot_get_a_turn_in_time_is_told_to_come_back_in_vietnamese(settings, monkeypatch):
    settings.WEB_THREADS = 1
    monkeypatch.setattr(middlewares, "TURN_WAIT_S", 0.01)
    middleware = PageTurnMiddleware(lambda request: HttpResponse())
    middleware.page_turns.acquire()  # and never given back: the worker is overloaded
    request = RequestFactory().get("/production/")
    with translation.override("vi"):
        came_back, answer = _returns_at_once(middleware, request)
    assert came_back and answer.status_code == 503 and answer["Retry-After"] == "5"
    assert answer.content.decode() == "Máy chủ đang bận. Vui lòng thử lại sau vài giây."
    assert "_page_turn" not in request.__dict__  # nothing to give back


def test_a_turn_is_given_back_when_the_view_fails(settings):
    settings.WEB_THREADS = 1

    def failing(request):
        middleware.process_view(request, page_view, (), {})
        raise Http404("no such unit")

    middleware = PageTurnMiddleware(failing)
    for _ in range(3):  # with the turn kept, the second would wait for ever
        with pytest.raises(Http404):
            middleware(RequestFactory().get("/production/u/NOPE/"))
    assert middleware.page_turns.acquire(timeout=WAIT_S)


@pytest.mark.django_db(transaction=True)  # the pages are served in a thread of their own: committed data
def test_with_one_turn_the_real_pages_are_served_one_after_another(settings, tree):
    """Through Django's own handler: pages, a redirect to log in, a 404 and a page that needs a login, one turn."""
    settings.WEB_THREADS = 1
    client = Client()
    statuses: list[int] = []

    def browse():
        statuses.append(client.get("/production/").status_code)  # not logged in: to the log-in page
        client.force_login(make_user("planner_turns", ("planner", "A")))
        for path in ("/production/", "/production/u/NOPE/", "/production/", "/telemetry/"):
            statuses.append(client.get(path).status_code)

    browsing = threading.Thread(target=browse)
    browsing.start()
    browsing.join(WAIT_S)
    assert not browsing.is_alive()
    assert statuses == [302, 200, 404, 200, 200]
