"""Log-in throttling (defect 7): a user name is locked at an address after 5 failures there in 15 minutes, at every
address when many addresses attack it (except where its user works), an address is slowed down after many
failures whatever the user names; counts live in the database, every attempt is audited, the lock is explained in
the user's language, and an administrator (admin action or `headframe unlock-login`) lifts it — only for users
wholly in their scope. Behind a proxy `headframe serve --forwarded-allow-ips` makes the client's address count."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import subprocess
import sys

import pytest
import time_machine
import uvicorn
from django.contrib.auth import get_user_model
from django.core.handlers.asgi import ASGIRequest
from django.test import Client
from django.utils import timezone
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from headframe.cli import main
from headframe.core.models import AuditEntry
from headframe.org import login
from headframe.org.models import LoginThrottle
from tests.factories import PASSWORD, make_user

LOGIN = "/accounts/login/"


def _try(client, username, password="wrong-password", **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def _fail(client, username, times, **extra):
    for _ in range(times):
        response = _try(client, username, **extra)
        assert response.status_code == 200 and not _logged_in(client)


@pytest.fixture
def now():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(client, users, now):
    _fail(client, "reporter_a", 5)
    response = _try(client, "reporter_a", PASSWORD)
    assert not _logged_in(client)
    html = response.content.decode()
    assert 'data-testid="login-locked"' in html
    assert "tạm khóa" in html and "15 phút" in html  # Vietnamese by default
    assert LoginThrottle.objects.get(kind="account", key="reporter_a").failures == 5


def test_the_lock_message_follows_the_chosen_language(client, users, now):
    client.cookies["django_language"] = "en"
    _fail(client, "reporter_a", 5)
    html = _try(client, "reporter_a", PASSWORD).content.decode()
    assert "this account is locked for 15 more minutes" in html


def test_four_failures_then_the_right_password_logs_in_and_clears_the_count(client, users, now):
    _fail(client, "reporter_a", 4)
    assert _try(client, "reporter_a", PASSWORD).status_code == 302
    assert _logged_in(client)
    client.logout()
    _fail(client, "reporter_a", 4)  # counted from 0 again: four more do not lock
    assert _try(client, "reporter_a", PASSWORD).status_code == 302


def test_the_lock_runs_out_after_fifteen_minutes(client, users, now):
    _fail(client, "reporter_a", 5)
    now.shift(dt.timedelta(minutes=14))
    _try(client, "reporter_a", PASSWORD)
    assert not _logged_in(client)
    now.shift(dt.timedelta(minutes=2))
    assert _try(client, "reporter_a", PASSWORD).status_code == 302
    assert _logged_in(client)


def test_failures_spread_beyond_the_window_do_not_lock(client, users, now):
    _fail(client, "reporter_a", 4)
    now.shift(dt.timedelta(minutes=16))
    _fail(client, "reporter_a", 4)
    assert _try(client, "reporter_a", PASSWORD).status_code == 302


def test_an_unknown_user_name_is_locked_like_a_real_one(client, users, now):
    _fail(client, "no-such-user", 5)
    html = _try(client, "no-such-user").content.decode()
    assert 'data-testid="login-locked"' in html  # no hint whether the user name exists


def test_an_address_is_locked_after_too_many_failures_across_user_names(client, users, settings, now):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 6
    for name in ("u1", "u2", "u3", "u4", "u5", "u6"):
        _try(client, name, REMOTE_ADDR="10.9.8.7")
    locked = _try(client, "viewer_a", PASSWORD, REMOTE_ADDR="10.9.8.7")
    assert not _logged_in(client)
    assert "máy này" in locked.content.decode()
    assert _try(client, "viewer_a", PASSWORD, REMOTE_ADDR="10.9.8.8").status_code == 302  # another computer


def test_every_success_failure_and_lockout_is_in_the_audit_log_under_the_users_unit(client, users, now):
    _fail(client, "reporter_a", 5)
    _try(client, "reporter_a", PASSWORD)  # refused by the lock
    entries = AuditEntry.objects.filter(object_repr="reporter_a", action__in=["login_failed", "lockout"])
    entries = entries.order_by("id")
    actions = [e.action for e in entries]
    assert actions == ["login_failed"] * 5 + ["lockout", "login_failed"]
    assert entries.last().after["reason"] == "pair_locked"  # this user name at this address
    assert {e.unit_path for e in entries} == {"/G/A/A-M1/"}  # company A's auditors see it
    assert all(e.channel == "web" and e.after["address"] == "127.0.0.1" for e in entries)
    _try(client, "viewer_a", PASSWORD)
    success = AuditEntry.objects.filter(action="login").get()
    assert success.actor == users.viewer_a and success.unit_path == "/G/A/"


def test_the_admin_log_in_is_throttled_and_audited_too(client, users, now):
    for _ in range(5):
        client.post("/admin/login/", {"username": "admin_a", "password": "nope-nope-nope"})
    response = client.post("/admin/login/", {"username": "admin_a", "password": PASSWORD})
    assert not _logged_in(client)
    assert "tạm khóa" in response.content.decode()
    assert AuditEntry.objects.filter(action="lockout", channel="admin", object_repr="admin_a").exists()


def test_a_company_admin_unlocks_their_own_user_in_the_admin_and_it_is_audited(client, users, now):
    _fail(client, "reporter_a", 5)
    row = LoginThrottle.objects.get(key="reporter_a")
    admin_client = type(client)()
    admin_client.force_login(users.admin_b)
    assert "reporter_a" not in admin_client.get("/admin/org/loginthrottle/").content.decode()
    admin_client.post(
        "/admin/org/loginthrottle/", {"action": "unlock", "_selected_action": [row.pk]}
    )  # not theirs: nothing happens
    assert LoginThrottle.objects.filter(pk=row.pk).exists()
    admin_client.force_login(users.admin_a)
    assert "reporter_a" in admin_client.get("/admin/org/loginthrottle/").content.decode()
    response = admin_client.post(
        "/admin/org/loginthrottle/", {"action": "unlock", "_selected_action": [row.pk]}
    )
    assert response.status_code == 302
    assert not LoginThrottle.objects.filter(pk=row.pk).exists()
    unlock = AuditEntry.objects.get(action="unlock")
    assert unlock.actor == users.admin_a and unlock.channel == "admin" and unlock.after["was_locked"]
    assert _try(client, "reporter_a", PASSWORD).status_code == 302


def test_headframe_unlock_login_lifts_a_lock_from_the_command_line(client, users, now, capsys):
    _fail(client, "reporter_a", 5)
    assert main(["unlock-login", "reporter_a"]) == 0
    assert "reporter_a unlocked" in capsys.readouterr().err
    assert AuditEntry.objects.filter(action="unlock", channel="cli").exists()
    assert _try(client, "reporter_a", PASSWORD).status_code == 302


def test_headframe_unlock_login_lifts_an_address_lock(client, users, settings, now, capsys):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 2
    _fail(client, "x1", 1, REMOTE_ADDR="10.1.1.1")
    _fail(client, "x2", 1, REMOTE_ADDR="10.1.1.1")
    assert main(["unlock-login", "--address", "10.1.1.1"]) == 0
    assert _try(client, "viewer_a", PASSWORD, REMOTE_ADDR="10.1.1.1").status_code == 302


def test_hidden_characters_in_a_typed_user_name_are_stored_harmlessly(client, users, now):
    _try(client, "evil\u202ename\u200b")
    entry = AuditEntry.objects.get(action="login_failed")
    assert "\u202e" not in entry.object_repr and "\u200b" not in entry.object_repr


def test_a_right_password_at_a_door_the_user_may_not_use_is_audited_not_counted(client, users, now):
    response = client.post("/admin/login/", {"username": "viewer_a", "password": PASSWORD})  # not staff
    assert response.status_code == 200 and not _logged_in(client)
    entry = AuditEntry.objects.get(action="login_failed", object_repr="viewer_a")
    assert entry.after["reason"] == "not_allowed" and entry.channel == "admin"
    assert not LoginThrottle.objects.filter(kind="account", key="viewer_a").exists()


# --- one guesser, many guessers, one shared address (a control room behind a proxy) ------------------------------


def test_a_guesser_locks_a_user_name_at_their_own_address_only(client, users, now):
    for n in range(4):  # 20 failures from 4 addresses: each locked there, the account not yet under attack
        _fail(client, "viewer_a", 5, REMOTE_ADDR=f"10.6.6.{n}")
    _try(client, "viewer_a", PASSWORD, REMOTE_ADDR="10.6.6.0")
    assert not _logged_in(client)
    # the dispatcher at the control-room PC logs in as usual
    assert _try(client, "viewer_a", PASSWORD, REMOTE_ADDR="10.0.0.7").status_code == 302
    assert _logged_in(client)


def test_an_account_attacked_from_many_addresses_is_locked_except_where_its_user_works(client, users, now):
    assert (
        _try(client, "viewer_a", PASSWORD, REMOTE_ADDR="10.0.0.7").status_code == 302
    )  # the control-room PC
    client.logout()
    now.shift(dt.timedelta(days=1))
    for n in range(5):  # 25 failures from 5 addresses
        _fail(client, "viewer_a", 5, REMOTE_ADDR=f"10.6.6.{n}")
    refused = _try(client, "viewer_a", PASSWORD, REMOTE_ADDR="10.0.0.99")  # a computer never used by viewer_a
    assert not _logged_in(client)
    assert 'data-testid="login-locked"' in refused.content.decode()
    assert _try(client, "viewer_a", PASSWORD, REMOTE_ADDR="10.0.0.7").status_code == 302
    assert _logged_in(client)
    client.logout()
    now.shift(dt.timedelta(minutes=16))
    assert _try(client, "viewer_a", PASSWORD, REMOTE_ADDR="10.0.0.99").status_code == 302


def test_a_known_address_is_only_known_for_a_while(client, users, settings, now):
    assert _try(client, "viewer_a", PASSWORD, REMOTE_ADDR="10.0.0.7").status_code == 302
    client.logout()
    now.shift(dt.timedelta(days=settings.LOGIN_KNOWN_ADDRESS_DAYS + 1))
    for n in range(5):
        _fail(client, "viewer_a", 5, REMOTE_ADDR=f"10.6.6.{n}")
    _try(client, "viewer_a", PASSWORD, REMOTE_ADDR="10.0.0.7")
    assert not _logged_in(client)


def test_failures_of_everyone_behind_one_address_do_not_lock_the_others_out(client, users, now):
    for n in range(99):  # 99 failures (never 5 for one user name) from one proxy or NAT address
        _try(client, f"user{n % 25}", REMOTE_ADDR="10.0.0.1")
    assert _try(client, "viewer_a", PASSWORD, REMOTE_ADDR="10.0.0.1").status_code == 302
    assert _logged_in(client)


def test_past_the_address_limit_an_address_is_slowed_down_for_a_minute_not_locked_out(
    client, users, settings, now
):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 3
    for name in ("u1", "u2", "u3"):
        _try(client, name, REMOTE_ADDR="10.9.8.7")
    locked = _try(client, "viewer_a", PASSWORD, REMOTE_ADDR="10.9.8.7")
    assert not _logged_in(client)
    assert "máy này" in locked.content.decode() and "1 phút" in locked.content.decode()
    now.shift(dt.timedelta(seconds=61))
    _try(client, "u4", REMOTE_ADDR="10.9.8.7")  # still past the limit: one more failure, another minute
    _try(client, "viewer_a", PASSWORD, REMOTE_ADDR="10.9.8.7")
    assert not _logged_in(client)
    now.shift(dt.timedelta(seconds=61))
    assert _try(client, "viewer_a", PASSWORD, REMOTE_ADDR="10.9.8.7").status_code == 302


def test_counts_that_can_lock_nothing_any_more_are_forgotten(client, users, now):
    _fail(client, "reporter_a", 2, REMOTE_ADDR="10.0.0.5")
    now.shift(dt.timedelta(hours=1))
    _fail(client, "viewer_a", 1, REMOTE_ADDR="10.0.0.6")
    assert not LoginThrottle.objects.filter(key__contains="10.0.0.5").exists()
    assert not LoginThrottle.objects.filter(key="reporter_a").exists()
    assert LoginThrottle.objects.filter(key="viewer_a").exists()


# --- who may unlock whom -------------------------------------------------------------------------------------


def test_a_company_admin_cannot_unlock_a_group_admin_or_a_superuser_with_a_role_in_the_company(
    client, users, now
):
    User = get_user_model()
    boss = make_user("boss_g", ("admin", "G"), ("viewer", "A-M1"))  # a group admin, also a viewer at A
    root = make_user("root_a", ("viewer", "A"))
    User.objects.filter(pk=root.pk).update(is_superuser=True, is_staff=True)
    for name in ("boss_g", "root_a", "reporter_a"):
        _fail(client, name, 5)
    rows = {row.key: row for row in LoginThrottle.objects.filter(kind="account")}
    theirs = [rows["boss_g"].pk, rows["root_a"].pk]

    admin_a = Client()
    admin_a.force_login(users.admin_a)
    page = admin_a.get("/admin/org/loginthrottle/").content.decode()
    assert "reporter_a" in page and "boss_g" not in page and "root_a" not in page
    admin_a.post("/admin/org/loginthrottle/", {"action": "unlock", "_selected_action": theirs})
    assert LoginThrottle.objects.filter(pk__in=theirs).count() == 2
    with pytest.raises(PermissionError):
        login.login_unlock(actor=users.admin_a, throttle=rows["boss_g"])
    for name in ("boss_g", "root_a"):
        _try(client, name, PASSWORD)
        assert not _logged_in(client)
    assert not AuditEntry.objects.filter(action="unlock").exists()

    superuser = Client()
    superuser.force_login(User.objects.create_superuser("su", password=PASSWORD))
    response = superuser.post("/admin/org/loginthrottle/", {"action": "unlock", "_selected_action": theirs})
    assert response.status_code == 302
    for name in ("boss_g", "root_a"):
        assert _try(client, name, PASSWORD).status_code == 302
        client.logout()
    assert boss.role_assignments.count() == 2  # unlocking changed nothing else


# --- behind a reverse proxy ----------------------------------------------------------------------------------


def _remote_addr(trusted: str, *, peer: str, forwarded: str) -> str:
    """What log-in throttling counts by when uvicorn, trusting `trusted`, gets a request from `peer` carrying
    X-Forwarded-For: `forwarded`."""
    seen = {}

    async def app(scope, receive, send):
        seen["address"] = login.client_address(ASGIRequest(scope, io.BytesIO(b"")))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/accounts/login/",
        "raw_path": b"/accounts/login/",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), (b"x-forwarded-for", forwarded.encode())],
        "client": (peer, 50000),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(ProxyHeadersMiddleware(app, trusted_hosts=trusted)(scope, None, None))
    return seen["address"]


def test_serve_believes_the_client_address_only_from_the_proxies_it_is_given(db, monkeypatch, settings):
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    assert main(["serve", "--no-watchdog", "--no-notifier", "--forwarded-allow-ips", "10.0.0.2"]) == 0
    settings.FORWARDED_ALLOW_IPS = "10.0.0.3"  # from HEADFRAME_FORWARDED_ALLOW_IPS
    assert main(["serve", "--no-watchdog", "--no-notifier"]) == 0
    assert [call["forwarded_allow_ips"] for call in calls] == ["10.0.0.2", "10.0.0.3"]
    assert all(call["proxy_headers"] for call in calls)
    trusted = calls[0]["forwarded_allow_ips"]
    assert _remote_addr(trusted, peer="10.0.0.2", forwarded="203.0.113.9") == "203.0.113.9"
    assert _remote_addr(trusted, peer="10.0.0.66", forwarded="203.0.113.9") == "10.0.0.66"  # not the proxy


def test_the_trusted_proxies_come_from_the_environment():
    code = "import headframe.settings as s; print(s.FORWARDED_ALLOW_IPS)"

    def read(value):
        env = {**os.environ, "HEADFRAME_SECRET_KEY": "x", "HEADFRAME_FORWARDED_ALLOW_IPS": value}
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        return result.stdout.strip()

    assert read("10.1.0.0/16, 10.2.0.5") == "10.1.0.0/16, 10.2.0.5"
    assert read("") == "127.0.0.1,::1"
