"""Log-in throttling and its audit trail.

What a mine control room needs: a guesser is stopped quickly, but nobody can lock a dispatcher out during an
incident by typing their user name wrong a few times, and one noisy computer (or everyone behind one NAT or
proxy) cannot block the log-ins of the whole site. Failures are counted in the database (org.LoginThrottle), so
every worker sees the same numbers, under three keys:

* **address + user name** ("pair"): after LOGIN_FAILURE_LIMIT (5) failures within LOGIN_FAILURE_WINDOW_S
  (15 min), that user name is locked *at that address* for LOGIN_LOCKOUT_S (15 min) — even the right password is
  refused there. This is the lock a guesser meets. The same user at another computer is not affected: a
  dispatcher whose name someone else guessed at logs in from the control-room PC as usual.
* **user name, at every address** ("account"): when LOGIN_ACCOUNT_FAILURE_LIMIT (25) failures for one user name
  come within the window, the account is under attack from many addresses (one address adds at most 5 before
  its own lock), so the user name is locked for LOGIN_LOCKOUT_S at every address — except the addresses where
  that user logged in successfully within LOGIN_KNOWN_ADDRESS_DAYS (30), read from the audit log. The choice:
  with many addresses a lock per address no longer bounds the guesses, so the account must close; addresses the
  user really works from stay open (still under their own 5-failure lock), so a distributed attack cannot lock
  the control room out. A user at a new computer waits or asks an administrator to unlock the user name.
* **address, whatever the user names** ("address"): after LOGIN_ADDRESS_FAILURE_LIMIT (100) failures within the
  window the address is slowed down, not locked out: it is locked for LOGIN_ADDRESS_LOCKOUT_S (60 s), and every
  further failure before the window ends locks it for that long again (about one guess a minute). Everyone
  behind one NAT or an unconfigured proxy shares this key, so it is high and short.

A success clears its own pair count only — never the account's or the address's (else an attacker with an
account of their own could reset a count between guesses). Unknown user names are counted and answered like
known ones. Attempts refused by a lock are audited, not counted. 0 turns a limit off (the counts are still kept).
The address is REMOTE_ADDR: behind a reverse proxy, `headframe serve --forwarded-allow-ips` (uvicorn) must name
the proxy, so that the client's address reaches it.

Every success, failure, lockout and unlock is written to the append-only audit log, filed under the units where
the user holds a role (so that company's auditors see it) — under no unit (superusers only) for unknown names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from headframe.core.actors import is_user
from headframe.core.audit import current_channel
from headframe.core.models import AuditEntry
from headframe.core.text import hidden_character
from headframe.org.models import LoginThrottle, RoleAssignment
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for

if TYPE_CHECKING:
    from django.contrib.auth.models import User as AuthUser
    from django.http import HttpRequest

    from headframe.core.actors import Actor

User = get_user_model()

Kind = LoginThrottle.Kind
PAIR = (
    LoginThrottle.Kind.PAIR.value
)  # LoginThrottle.kind of an (address, user name) count; key "<address> <user name>"
KEY_LENGTH = 150
NO_ADDRESS = "-"


@dataclass(frozen=True)
class LoginLock:
    """A refusal: which key is locked ("pair", "account" or "address") and until when."""

    kind: str
    until: dt.datetime

    @property
    def minutes_left(self) -> int:
        return max(1, math.ceil((self.until - timezone.now()).total_seconds() / 60))


def _lock(kind: str, row: LoginThrottle) -> LoginLock:
    """The lock a row holds: one read as locked, or locked just now (its locked_until is set)."""
    assert row.locked_until is not None
    return LoginLock(kind, row.locked_until)


@dataclass(frozen=True)
class _Counter:
    kind: str
    key: str
    limit: int
    lockout_s: int
    slowdown: bool  # after its lock runs out the count goes on (until the window ends), so the next failure re-locks


def _printable(text: str, limit: int) -> str:
    """What an attacker typed, made safe to store and show: hidden and control characters become U+FFFD."""
    return "".join("\ufffd" if hidden_character(ch) else ch for ch in (text or ""))[:limit]


def _address(address: str) -> str:
    return (address or NO_ADDRESS)[:64]


def pair_key(username: str, address: str) -> str:
    """The key of a user name at an address, "<address> <user name>" (an over-long user name, only ever a typed
    one, by its hash)."""
    key = f"{_address(address)} {username}"
    if len(key) > KEY_LENGTH:
        key = f"{_address(address)} #{hashlib.sha256(username.encode()).hexdigest()[:40]}"
    return key


def _counters(username: str, address: str) -> list[_Counter]:
    """The keys one failure counts on, in the order their rows are locked (the same in every transaction)."""
    counters = []
    if username:
        counters.append(
            _Counter(
                PAIR,
                pair_key(username, address),
                settings.LOGIN_FAILURE_LIMIT,
                settings.LOGIN_LOCKOUT_S,
                False,
            )
        )
        counters.append(
            _Counter(
                Kind.ACCOUNT,
                username[:KEY_LENGTH],
                settings.LOGIN_ACCOUNT_FAILURE_LIMIT,
                settings.LOGIN_LOCKOUT_S,
                False,
            )
        )
    counters.append(
        _Counter(
            Kind.ADDRESS,
            _address(address),
            settings.LOGIN_ADDRESS_FAILURE_LIMIT,
            settings.LOGIN_ADDRESS_LOCKOUT_S,
            True,
        )
    )
    return counters


def _known_user(username: str) -> AuthUser | None:
    return User.objects.filter(username=username).first() if username else None


def known_address(user: AuthUser | None, address: str) -> bool:
    """Whether `user` logged in successfully from `address` within LOGIN_KNOWN_ADDRESS_DAYS."""
    if user is None or not address or not settings.LOGIN_KNOWN_ADDRESS_DAYS:
        return False
    since = timezone.now() - dt.timedelta(days=settings.LOGIN_KNOWN_ADDRESS_DAYS)
    return AuditEntry.objects.filter(
        object_type="auth.user",
        object_id=str(user.pk),
        action=AuditEntry.Action.LOGIN,
        at__gte=since,
        after__address=address,
    ).exists()


def login_lock(username: str, address: str) -> LoginLock | None:
    """The lock that refuses this attempt before any password is checked, if one holds: this user name at this
    address, this address, or this user name everywhere (unless the user has logged in from this address)."""
    now = timezone.now()
    keys = {(c.kind, c.key) for c in _counters(username, address)}
    rows = LoginThrottle.objects.filter(
        reduce(or_, (Q(kind=kind, key=key) for kind, key in keys)), locked_until__gt=now
    )
    locks = {row.kind: row for row in rows}
    for kind in (PAIR, Kind.ADDRESS):
        if kind in locks:
            return _lock(kind, locks[kind])
    if Kind.ACCOUNT in locks and not known_address(_known_user(username), address):
        return _lock(Kind.ACCOUNT, locks[Kind.ACCOUNT])
    return None


def _unit_paths(user: AuthUser | None) -> list[str]:
    if user is None:
        return [""]
    paths = sorted(set(RoleAssignment.objects.filter(user=user).values_list("unit__path", flat=True)))
    minimal: list[str] = []
    for path in paths:
        if not any(path.startswith(kept) for kept in minimal):
            minimal.append(path)
    return minimal or [""]


def _audit(
    action: str,
    *,
    username: str,
    user: AuthUser | None,
    actor: AuthUser | None = None,
    actor_name: str = "",
    **details: object,
) -> None:
    """One row per unit the user holds a role on (one row under no unit for an unknown user name)."""
    name = _printable(username, 150)
    rows = [
        AuditEntry(
            actor=actor,
            actor_name=actor_name or name,
            channel=current_channel.get(),
            action=action,
            object_type="auth.user",
            object_id=str(user.pk) if user is not None else "",
            object_repr=name,
            unit_path=path,
            after={k: v for k, v in details.items() if v is not None} or None,
        )
        for path in _unit_paths(user)
    ]
    AuditEntry.objects.bulk_create(rows)


@transaction.atomic
def login_refused(*, username: str, address: str, reason: str) -> None:
    """Audit an attempt refused without counting it: a lock held ("pair_locked", "account_locked",
    "address_locked": the password was never checked), or a right password for a login that may not use this
    door ("not_allowed", e.g. the admin for a user who is not staff)."""
    _audit(
        AuditEntry.Action.LOGIN_FAILED,
        username=username,
        user=_known_user(username),
        address=address,
        reason=reason,
    )


def _forget_old(now: dt.datetime) -> None:
    """Drop counts that can lock nothing any more, so the table holds only recent failures. Rows another log-in
    holds are skipped (PostgreSQL), so this never waits for one — nor deadlocks with it."""
    longest = max(settings.LOGIN_FAILURE_WINDOW_S, settings.LOGIN_LOCKOUT_S, settings.LOGIN_ADDRESS_LOCKOUT_S)
    cutoff = now - dt.timedelta(seconds=longest)
    stale = (
        LoginThrottle.objects.filter(last_failure_at__lt=cutoff)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .select_for_update(skip_locked=True)
        .values_list("pk", flat=True)
    )
    LoginThrottle.objects.filter(pk__in=list(stale[:1000])).delete()


@transaction.atomic
def login_failed(*, username: str, address: str) -> LoginLock | None:
    """Count a wrong password (or unknown user name) and audit it; returns the lock it triggered, if any."""
    now = timezone.now()
    window = dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_S)
    user = _known_user(username)
    counts: dict[str, int] = {}
    triggered: dict[str, LoginThrottle] = {}
    for counter in _counters(username, address):
        row, _created = LoginThrottle.objects.select_for_update().get_or_create(
            kind=counter.kind,
            key=counter.key,
            defaults={"window_started_at": now, "last_failure_at": now, "failures": 0},
        )
        locked_now = row.locked_until is not None and row.locked_until > now
        if not locked_now:
            lock_ran_out = row.locked_until is not None and not counter.slowdown
            if lock_ran_out or now - row.window_started_at > window:
                row.failures, row.window_started_at, row.locked_until = 0, now, None  # a fresh window
        row.failures += 1
        row.last_failure_at = now
        if counter.kind != Kind.ADDRESS:
            row.user = user
        if counter.limit and row.failures >= counter.limit and not locked_now:
            row.locked_until = now + dt.timedelta(seconds=counter.lockout_s)
            triggered[counter.kind] = row
        row.save()
        counts[counter.kind] = row.failures
    _forget_old(now)  # after this log-in's own rows are locked and counted
    _audit(
        AuditEntry.Action.LOGIN_FAILED,
        username=username,
        user=user,
        address=address,
        reason="bad_credentials",
        failures=counts.get(PAIR),
        account_failures=counts.get(Kind.ACCOUNT),
        address_failures=counts.get(Kind.ADDRESS),
    )
    for kind, row in triggered.items():
        _audit(
            AuditEntry.Action.LOCKOUT,
            username=username if kind != Kind.ADDRESS else row.key,
            user=user if kind != Kind.ADDRESS else None,
            kind=kind,
            address=address,
            failures=row.failures,
            locked_until=_lock(kind, row).until.isoformat(),
        )
    for kind in (PAIR, Kind.ADDRESS, Kind.ACCOUNT):
        if kind in triggered and (kind != Kind.ACCOUNT or not known_address(user, address)):
            return _lock(kind, triggered[kind])
    return None


@transaction.atomic
def login_succeeded(*, user: AuthUser, address: str) -> None:
    """Clear the failures of this user name at this address and audit the log-in (which makes the address one
    the user is known at)."""
    LoginThrottle.objects.filter(kind=PAIR, key=pair_key(user.username, address)).delete()
    _audit(
        AuditEntry.Action.LOGIN,
        username=user.username,
        user=user,
        actor=user,
        actor_name=user.username,
        address=address,
    )


def users_unlockable_by(actor: Actor) -> QuerySet[AuthUser]:
    """The logins whose locks `actor` may lift: anyone for a superuser (and the system, actor None); otherwise
    users who are not superusers, hold a role where `actor` has the manage permission, and hold none outside it
    (a group administrator with one role in a company is not that company's admin's to unlock)."""
    users = User._default_manager.all()
    scope = scope_for(actor)
    if scope.is_superuser:
        return users
    roots = scope.paths(Perm.MANAGE)
    if not roots:
        return users.none()
    inside = reduce(or_, (Q(unit__path__startswith=root) for root in roots))
    return (
        users.filter(is_superuser=False)
        .filter(pk__in=RoleAssignment.objects.filter(inside).values("user_id"))
        .exclude(pk__in=RoleAssignment.objects.exclude(inside).values("user_id"))
    )


def throttles_unlockable_by(actor: Actor) -> QuerySet[LoginThrottle]:
    """The LoginThrottle rows `actor` may see and unlock: a superuser all of them, an administrator the user
    names (and their per-address counts) of the users in users_unlockable_by — never an address."""
    rows = LoginThrottle.objects.all()
    if scope_for(actor).is_superuser:
        return rows
    return rows.filter(kind__in=[Kind.ACCOUNT, PAIR], user__in=users_unlockable_by(actor).values("pk"))


def _cleared_with(throttle: LoginThrottle) -> QuerySet[LoginThrottle]:
    """What an unlock clears: a user name's count with its counts at every address; an address's count with
    every user name's count there; a pair alone."""
    rows = LoginThrottle.objects.filter(pk=throttle.pk)
    if throttle.kind == Kind.ACCOUNT:
        pairs = Q(key__endswith=f" {throttle.key}")
        if throttle.user_id is not None:
            pairs |= Q(user_id=throttle.user_id)
        rows = rows | LoginThrottle.objects.filter(Q(kind=PAIR) & pairs)
    elif throttle.kind == Kind.ADDRESS:
        rows = rows | LoginThrottle.objects.filter(kind=PAIR, key__startswith=f"{throttle.key} ")
    return rows


@transaction.atomic
def login_unlock(*, actor: Actor, throttle: LoginThrottle) -> bool:
    """An administrator (None: the system, e.g. the CLI) lifts a lock and clears its count; audited. Unlocking a
    user name clears its counts at every address too; unlocking an address, every user name's count there.
    Refuses (PermissionError) a row outside throttles_unlockable_by(actor). Returns whether anything was locked."""
    if not LoginThrottle.objects.filter(pk=throttle.pk).exists():
        return False  # already cleared (say, with its user name's count, earlier in the same admin action)
    if actor is not None and not throttles_unlockable_by(actor).filter(pk=throttle.pk).exists():
        raise PermissionError(f"{getattr(actor, 'username', actor)} may not unlock {throttle}")
    now = timezone.now()
    rows = list(_cleared_with(throttle).select_for_update())
    was_locked = any(row.locked_until is not None and row.locked_until > now for row in rows)
    LoginThrottle.objects.filter(pk__in=[row.pk for row in rows]).delete()
    user = throttle.user if throttle.kind != Kind.ADDRESS else None
    username = throttle.key.split(" ", 1)[1] if throttle.kind == PAIR else throttle.key
    _audit(
        AuditEntry.Action.UNLOCK,
        username=username,
        user=user,
        actor=actor if is_user(actor) else None,
        actor_name=getattr(actor, "username", "") or "system",
        kind=throttle.kind,
        key=throttle.key,
        was_locked=was_locked,
        failures=throttle.failures,
        cleared=len(rows),
    )
    return was_locked


def client_address(request: HttpRequest | None) -> str:
    """The address a log-in came from: REMOTE_ADDR. Behind a reverse proxy, `headframe serve
    --forwarded-allow-ips` (HEADFRAME_FORWARDED_ALLOW_IPS) must name the proxy: uvicorn then puts the client's
    address from X-Forwarded-For there; otherwise every log-in seems to come from the proxy."""
    return (request.META.get("REMOTE_ADDR") or "")[:64] if request is not None else ""
