"""The locust users of bench_load (run by it as `locust -f bench/load_users.py --headless …`, never imported by
the benchmark itself: locust patches the standard library with gevent on import).

Two kinds of people, both logged in as demo accounts through the log-in form:
- control room (a third of the users): the live page of a mine, then its event stream held open for a while
  as a browser does (connect time and first event recorded), then again;
- managers: the production dashboards (group and company plan vs actual), the briefing packs (ad hoc and a
  meeting's), and the group's live overview, with 1–2 s of reading between pages.

Request names are the page groups bench_load reports: "dashboard", "live page", "pack", "log-in",
"live stream: connect", "live stream: first event". Everything comes from the environment bench_load sets.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time

from locust import HttpUser, between, events, task

PASSWORD = os.environ.get("HEADFRAME_LOAD_PASSWORD", "headframe-demo")
USERNAMES = os.environ.get("HEADFRAME_LOAD_USERNAMES", "viewer").split(",")
MINES = os.environ.get("HEADFRAME_LOAD_MINES", "").split(",")
COMPANIES = os.environ.get("HEADFRAME_LOAD_COMPANIES", "").split(",")
MEETINGS = [m for m in os.environ.get("HEADFRAME_LOAD_MEETINGS", "").split(",") if m]
STREAM_HOLD_S = float(os.environ.get("HEADFRAME_LOAD_STREAM_HOLD_S", 15))
FIRST_EVENT_TIMEOUT_S = 10.0
RECORDS = os.environ.get("HEADFRAME_LOAD_RECORDS")
_accounts = itertools.cycle(USERNAMES)
_sessions = [s for s in os.environ.get("HEADFRAME_LOAD_SESSIONS", "").split(",") if s]
_records: list[bytes] = []


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **kwargs) -> None:
    """Every request with its wall-clock end, for exact percentiles and the after-log-in cut in bench_load."""
    end = time.time()
    error = repr(exception) if exception else None
    row = {"name": name, "ms": response_time, "start": end - response_time / 1000, "end": end, "error": error}
    _records.append(json.dumps(row).encode())


@events.quitting.add_listener
def _write_records(environment, **kwargs) -> None:
    if RECORDS:
        with open(RECORDS, "wb") as out:
            out.write(b"\n".join(_records))


class _LoggedIn(HttpUser):
    abstract = True

    def on_start(self) -> None:
        if _sessions:  # a session bench_load logged in for us
            self.client.cookies.set("sessionid", _sessions.pop())
            return
        username = next(_accounts)
        self.client.get("/accounts/login/", name="log-in")
        token = self.client.cookies.get("csrftoken", "")
        with self.client.post(
            "/accounts/login/",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token, "next": "/"},
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="log-in",
            catch_response=True,
        ) as response:
            if "sessionid" not in self.client.cookies:
                response.failure(f"log-in of {username} failed: {response.status_code}")

    def page(self, url: str, name: str) -> None:
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{url}: {response.status_code}")
            elif "/accounts/login/" in response.url:
                response.failure(f"{url}: sent to the log-in page")


class ControlRoom(_LoggedIn):
    weight = 1
    wait_time = between(0.5, 1)

    @task
    def live(self) -> None:
        mine = random.choice(MINES)
        self.page(f"/telemetry/{mine}/", "live page")
        self._hold_stream(mine)

    def _hold_stream(self, mine: str) -> None:
        started = time.perf_counter()
        first_event_ms: float | None = None
        with self.client.get(
            f"/telemetry/{mine}/stream",
            name="live stream: connect",
            stream=True,
            catch_response=True,
            timeout=(5, FIRST_EVENT_TIMEOUT_S),  # between bytes: > 10 s of silence ends the hold
        ) as response:
            if response.status_code != 200:
                response.failure(f"stream {mine}: {response.status_code}")
                return
            try:
                for line in response.iter_lines():
                    if first_event_ms is None and line.startswith(b"event:"):
                        first_event_ms = (time.perf_counter() - started) * 1000
                    if time.perf_counter() - started > (
                        STREAM_HOLD_S if first_event_ms is not None else FIRST_EVENT_TIMEOUT_S
                    ):
                        break
            except Exception as exc:
                if first_event_ms is None:  # a stream that never delivered is an error of the run
                    response.failure(f"stream {mine}: {exc!r}")
                # else: nothing changed for a while (no readings): the hold ends, as a browser's would not
            finally:
                response.close()
        self.environment.events.request.fire(
            request_type="SSE",
            name="live stream: first event",
            response_time=first_event_ms if first_event_ms is not None else FIRST_EVENT_TIMEOUT_S * 1000,
            response_length=0,
            exception=None if first_event_ms is not None else RuntimeError(f"no event from {mine}'s stream"),
            context={},
        )


class Manager(_LoggedIn):
    weight = 2
    wait_time = between(1, 2)

    @task(3)
    def dashboard(self) -> None:
        if random.random() < 0.4:
            self.page("/production/", "dashboard")
        else:
            self.page(f"/production/u/{random.choice(COMPANIES)}/", "dashboard")

    @task(2)
    def pack(self) -> None:
        if MEETINGS and random.random() < 0.5:
            self.page(f"/briefing/meetings/{random.choice(MEETINGS)}/pack", "pack")
        else:
            self.page(f"/briefing/pack?unit={random.choice(COMPANIES)}", "pack")

    @task(1)
    def live_overview(self) -> None:
        self.page("/telemetry/", "live page")
