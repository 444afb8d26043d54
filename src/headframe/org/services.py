"""Writes to the organisation: units, moves, bridge points, people, users, roles and tokens.

Every function checks the actor's scope, validates, writes and audits in one transaction. `actor=None` is
the system itself (the shell and the demo loader), which may do anything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone

from headframe.core.audit import audit_record, snapshot
from headframe.core.errors import NotFound, PermissionDenied, ValidationFailed
from headframe.core.services import audited_create, audited_update, validate
from headframe.core.text import check_clean_text
from headframe.org.messages import both_languages
from headframe.org.models import (
    ALLOWED_PARENT_KINDS,
    ApiToken,
    BridgePoint,
    Person,
    RoleAssignment,
    Unit,
    UnitKind,
    UnitParentPeriod,
)
from headframe.org.roles import Perm, Role
from headframe.org.selectors import scope_for

if TYPE_CHECKING:
    from django.contrib.auth.models import User as AuthUser

    from headframe.core.actors import Actor
    from headframe.core.errors import Loc
    from headframe.core.messages import InLanguages

User = get_user_model()
logger = logging.getLogger(__name__)

UNIT_EDITABLE_FIELDS = {"name_vi", "name_en", "is_active", "valid_from", "site_type", "position_kind"}
TOKEN_PREFIX = "hf_"


def _require(
    actor: Actor,
    perm: str,
    path: str,
    *,
    key: str,
    params: dict[str, Any] | None = None,
    loc: Loc = ("body",),
) -> None:
    """403 with the catalogue's message `key` ("you may not … here: outside your scope")."""
    if not scope_for(actor).allows(perm, path):
        raise PermissionDenied(loc=loc, key=key, params=params or {})


def _unit_by_code(code: str, *, loc: Loc, actor: Actor = None) -> Unit:
    """The unit a write names. One the actor may not even see answers exactly as an unknown code does (422
    unknown_unit), so a write cannot probe which codes exist in another company; actor=None is the system."""
    unit = Unit.objects.filter(code=code).first()
    if unit is None or not scope_for(actor).allows(Perm.VIEW, unit.path):
        raise ValidationFailed(
            loc=loc, type="unknown_unit", params={"unit": repr(code)}, key="unknown_unit.code"
        )
    return unit


# Names people type: no NUL, control, bidi-override or zero-width characters (see core.text).
_CLEAN_TEXT_FIELDS = {"name_vi", "name_en", "full_name", "job_title", "location", "phone"}


def _check_names(values: Mapping[str, object], *, loc: Loc = ("body",)) -> None:
    for name, value in values.items():
        if name in _CLEAN_TEXT_FIELDS:
            check_clean_text(value, loc=(*loc, name), label=name)


def unit_check_placement(
    *, actor: Actor, kind: str, parent: Unit | None, unit: Unit | None = None, loc: Loc = ("body", "parent")
) -> None:
    """Everything that decides whether a unit may hang under parent: the actor's scope on the parent,
    the kind rule, and (for an existing unit) no cycle. Raises ValidationFailed / PermissionDenied."""
    if parent is None:
        _require(actor, Perm.MANAGE, "/", key="permission_denied.create_top_unit", loc=loc)
    else:
        _require(actor, Perm.MANAGE, parent.path, key="permission_denied.add_units", loc=loc)
    if unit is not None and parent is not None and parent.path.startswith(unit.path):
        raise ValidationFailed(
            loc=loc,
            type="cycle",
            params={"unit": unit.code, "parent": parent.code},
            key="cycle.under",
        )
    _check_parent_kind(kind, parent, loc=loc)


def _check_parent_kind(kind: str, parent: Unit | None, *, loc: Loc) -> None:
    allowed = ALLOWED_PARENT_KINDS.get(kind)
    if allowed is None:
        return  # an invalid kind is reported by full_clean with the field's own message
    if parent is None:
        if allowed:
            raise ValidationFailed(
                loc=loc,
                type="parent_required",
                params={"kind": _kind(kind), "allowed": [_kind(k) for k in sorted(allowed)]},
                key="parent_required.kind",
            )
        return
    if parent.kind not in allowed:
        params = {"kind": _kind(kind), "parent": _kind(parent.kind)}
        if allowed:
            raise ValidationFailed(
                loc=loc,
                type="parent_kind",
                params={**params, "expected": [_kind(k) for k in sorted(allowed)]},
                key="parent_kind.under",
            )
        raise ValidationFailed(loc=loc, type="parent_kind", params=params, key="parent_kind.top_only")


def _kind(kind: str) -> InLanguages:
    """A kind of unit as a message parameter: its name in the language shown ("mine / site"), not the code."""
    return both_languages(UnitKind(kind).label, lower=True)


@transaction.atomic
def unit_create(
    *,
    actor: Actor,
    code: str,
    name_vi: str,
    kind: str,
    parent_code: str | None = None,
    name_en: str = "",
    site_type: str = "",
    position_kind: str = "",
    is_active: bool = True,
    valid_from: dt.date | None = None,
) -> Unit:
    _check_names({"name_vi": name_vi, "name_en": name_en})
    parent = _unit_by_code(parent_code, loc=("body", "parent"), actor=actor) if parent_code else None
    unit_check_placement(actor=actor, kind=kind, parent=parent)
    unit = Unit(
        code=code,
        name_vi=name_vi,
        name_en=name_en,
        kind=kind,
        site_type=site_type,
        position_kind=position_kind,
        parent=parent,
        is_active=is_active,
        valid_from=valid_from or timezone.localdate(),
        path=f"{parent.path if parent else '/'}{code}/",
        depth=(parent.depth + 1) if parent else 0,
    )
    audited_create(actor=actor, obj=unit, unit_path=unit.path)
    UnitParentPeriod.objects.create(unit=unit, parent=parent, valid_from=unit.valid_from)
    return unit


@transaction.atomic
def unit_update(*, actor: Actor, unit: Unit, changes: dict[str, Any]) -> bool:
    """Change a unit's editable fields and, with 'parent', move it. Returns whether anything changed."""
    unknown = set(changes) - UNIT_EDITABLE_FIELDS - {"parent"}
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(
            loc=("body", name), type="read_only", params={"field": name}, key="read_only.field"
        )
    _require(actor, Perm.MANAGE, unit.path, key="permission_denied.change_unit", loc=("path", "code"))
    _check_names(changes)
    changes = dict(changes)
    moved = False
    if "parent" in changes:
        new_parent_code = changes.pop("parent")
        current = unit.parent.code if unit.parent is not None else None
        if new_parent_code != current:
            unit_move(actor=actor, unit=unit, new_parent_code=new_parent_code)
            moved = True
    if changes.get("is_active") is False and unit.is_active:
        active_children = unit.children.filter(is_active=True).count()
        if active_children:
            raise ValidationFailed(
                loc=("body", "is_active"),
                type="active_children",
                params={"count": active_children, "unit": unit.code},
                key="active_children.count",
            )
    updated = audited_update(actor=actor, obj=unit, changes=changes, unit_path=unit.path)
    return moved or updated


@transaction.atomic
def unit_move(*, actor: Actor, unit: Unit, new_parent_code: str | None, on: dt.date | None = None) -> Unit:
    """Re-hang a unit (and its subtree) under another parent, keeping the old placement in its history."""
    on = on or timezone.localdate()
    loc = ("body", "parent")
    if new_parent_code is None:
        raise ValidationFailed(loc=loc, type="parent_required", params={}, key="parent_required.top")
    new_parent = _unit_by_code(new_parent_code, loc=loc, actor=actor)
    _require(actor, Perm.MANAGE, unit.path, key="permission_denied.move_unit", loc=loc)
    unit_check_placement(actor=actor, kind=unit.kind, parent=new_parent, unit=unit, loc=loc)
    old_path, old_parent = unit.path, unit.parent
    new_path = f"{new_parent.path}{unit.code}/"
    depth_delta = new_parent.depth + 1 - unit.depth
    Unit.objects.filter(path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + depth_delta,
    )
    Unit.objects.filter(pk=unit.pk).update(parent=new_parent)
    current = UnitParentPeriod.objects.select_for_update().filter(unit=unit, valid_to__isnull=True).first()
    if current is not None and current.valid_from >= on:
        # Moved again on the day it started: that placement never took effect, so replace it.
        current.parent = new_parent
        current.save(update_fields=["parent"])
    else:
        if current is not None:
            current.valid_to = on
            current.save(update_fields=["valid_to"])
        UnitParentPeriod.objects.create(unit=unit, parent=new_parent, valid_from=on)
    unit.refresh_from_db()
    audit_record(
        actor=actor,
        action="move",
        obj=unit,
        unit_path=unit.path,
        before={"parent": old_parent.code if old_parent else None, "path": old_path},
        after={"parent": new_parent.code, "path": unit.path, "effective": on.isoformat()},
    )
    return unit


# --- bridge points and people -------------------------------------------------------------------------


@transaction.atomic
def bridge_point_create(
    *, actor: Actor, code: str, name_vi: str, unit_code: str, name_en: str = "", location: str = ""
) -> BridgePoint:
    _check_names({"name_vi": name_vi, "name_en": name_en, "location": location})
    unit = _unit_by_code(unit_code, loc=("body", "unit"), actor=actor)
    _require(actor, Perm.MANAGE, unit.path, key="permission_denied.add_bridge_points", loc=("body", "unit"))
    point = BridgePoint(code=code, name_vi=name_vi, name_en=name_en, unit=unit, location=location)
    audited_create(actor=actor, obj=point, unit_path=unit.path)
    return point


@transaction.atomic
def person_create(
    *,
    actor: Actor,
    employee_no: str,
    full_name: str,
    unit_code: str,
    job_title: str = "",
    phone: str = "",
    user: AuthUser | None = None,
) -> Person:
    _check_names({"full_name": full_name, "job_title": job_title, "phone": phone})
    unit = _unit_by_code(unit_code, loc=("body", "unit"), actor=actor)
    _require(actor, Perm.MANAGE, unit.path, key="permission_denied.add_people", loc=("body", "unit"))
    person = Person(
        employee_no=employee_no, full_name=full_name, unit=unit, job_title=job_title, phone=phone, user=user
    )
    audited_create(actor=actor, obj=person, unit_path=unit.path)
    return person


@transaction.atomic
def record_update(
    *, actor: Actor, obj: BridgePoint | Person, changes: dict[str, Any], editable: set[str]
) -> bool:
    """Update a bridge point or person (anything with a `unit`), in the actor's scope on old and new unit."""
    unknown = set(changes) - editable
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(
            loc=("body", name), type="read_only", params={"field": name}, key="read_only.field"
        )
    _require(
        actor,
        Perm.MANAGE,
        obj.unit.path,
        key="permission_denied.change_record",
        params={"record": both_languages(obj._meta.verbose_name)},
    )
    _check_names(changes)
    if "unit" in changes:
        changes = {**changes, "unit": _unit_by_code(changes["unit"], loc=("body", "unit"), actor=actor)}
        _require(
            actor,
            Perm.MANAGE,
            changes["unit"].path,
            key="permission_denied.move_record",
            loc=("body", "unit"),
        )
    return audited_update(actor=actor, obj=obj, changes=changes, unit_path=changes.get("unit", obj.unit).path)


# --- users, roles, tokens ----------------------------------------------------------------------------


@transaction.atomic
def role_grant(
    *, actor: Actor, user: AuthUser, role: str, unit_code: str, loc: Loc = ("body", "unit")
) -> RoleAssignment:
    if role not in Role.values:
        raise ValidationFailed(
            loc=("body", "role"),
            type="enum",
            params={"role": repr(role), "choices": list(Role.values)},
            key="enum.role",
        )
    unit = _unit_by_code(unit_code, loc=loc, actor=actor)
    _require(actor, Perm.MANAGE, unit.path, key="permission_denied.grant_roles", loc=loc)
    existing = RoleAssignment.objects.filter(user=user, role=role, unit=unit).first()
    if existing:
        return existing
    assignment = RoleAssignment.objects.create(user=user, role=role, unit=unit)
    if role == Role.ADMIN and not user.is_staff:
        user.is_staff = True  # scoped admins use the Django admin, limited to their subtree
        user.save(update_fields=["is_staff"])
    audit_record(
        actor=actor,
        action="grant",
        obj=assignment,
        unit_path=unit.path,
        object_repr=f"{user.username}: {role} @ {unit.code}",
        after={"user": user.username, "role": role, "unit": unit.code},
    )
    user.__dict__.pop("_headframe_scope", None)
    return assignment


@transaction.atomic
def role_revoke(*, actor: Actor, assignment: RoleAssignment) -> None:
    _require(actor, Perm.MANAGE, assignment.unit.path, key="permission_denied.revoke_roles")
    audit_record(
        actor=actor,
        action="revoke",
        obj=assignment,
        unit_path=assignment.unit.path,
        object_repr=f"{assignment.user.username}: {assignment.role} @ {assignment.unit.code}",
        before={"user": assignment.user.username, "role": assignment.role, "unit": assignment.unit.code},
    )
    assignment.delete()


@transaction.atomic
def user_create(
    *,
    actor: Actor,
    username: str,
    grants: list[tuple[str, str]],
    password: str | None = None,
    email: str = "",
) -> AuthUser:
    """A login with one or more (role, unit code) grants. Without a password the user can only use tokens."""
    if not grants:
        raise ValidationFailed(loc=("body", "grants"), type="missing", params={}, key="missing.grants")
    check_clean_text(username, loc=("body", "username"), label="username")
    user = User(username=username, email=email)
    validate(user, exclude=["password"], loc=("body",))
    if password is not None:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationFailed(
                " ".join(exc.messages), loc=("body", "password"), type="weak_password"
            ) from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit_record(
        actor=actor, action="create", obj=user, unit_path="", after=snapshot(user, ["username", "email"])
    )
    for index, (role, unit_code) in enumerate(grants):
        role_grant(
            actor=actor, user=user, role=role, unit_code=unit_code, loc=("body", "grants", index, "unit")
        )
    return user


def _token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(*, actor: Actor, user: AuthUser, name: str = "") -> tuple[ApiToken, str]:
    """A new bearer token; the raw value is returned once and never stored."""
    if actor is not None and actor.pk != user.pk and not scope_for(actor).is_superuser:
        raise PermissionDenied(params={}, key="permission_denied.own_tokens")
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(user=user, name=name, prefix=prefix, digest=_token_digest(raw))
    audit_record(
        actor=actor, action="create", obj=token, unit_path="", after={"user": user.username, "prefix": prefix}
    )
    return token, raw


@transaction.atomic
def token_revoke(*, actor: Actor, token: ApiToken) -> bool:
    if actor is not None and actor.pk != token.user_id and not scope_for(actor).is_superuser:
        raise PermissionDenied(params={}, key="permission_denied.own_tokens")
    if token.revoked_at is not None:
        return False
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(actor=actor, action="revoke", obj=token, unit_path="", after={"prefix": token.prefix})
    return True


def token_authenticate(raw: str) -> AuthUser | None:
    """The active user behind a bearer token, or None.

    A pure read as far as the caller is concerned: the token's last use is recorded at most once every
    TOKEN_TOUCH_INTERVAL_S, waiting at most a moment for the write lock, and a write that cannot be made (another
    writer holds the database) is skipped — it never delays or fails the request."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_token_digest(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    interval = dt.timedelta(seconds=settings.TOKEN_TOUCH_INTERVAL_S)
    if token.last_used_at is None or now - token.last_used_at >= interval:
        _token_touch(token, now, interval)
    return token.user


TOKEN_TOUCH_LOCK_WAIT_MS = 50


@contextmanager
def _sqlite_busy_timeout(ms: int) -> Iterator[None]:
    """SQLite: within the block, a statement waits at most `ms` for the write lock (it is per connection)."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        previous = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA busy_timeout = {int(ms)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {previous}")


def _token_touch(token: ApiToken, now: dt.datetime, interval: dt.timedelta) -> None:
    """Record the token's use, best effort (see token_authenticate)."""
    stale = ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - interval)
    )
    try:
        if connection.vendor == "sqlite":
            # The busy timeout first: entering atomic() already asks for the write lock (BEGIN IMMEDIATE).
            with _sqlite_busy_timeout(TOKEN_TOUCH_LOCK_WAIT_MS), transaction.atomic():
                stale.update(last_used_at=now)
        else:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    # Local to this (sub)transaction: undone with it when the update fails, restored after.
                    cursor.execute(
                        "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)",
                        [f"{TOKEN_TOUCH_LOCK_WAIT_MS}ms"],
                    )
                    previous = cursor.fetchone()[0]
                stale.update(last_used_at=now)
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
    except DatabaseError as exc:
        logger.info("token %s: last use not recorded (%s)", token.prefix, exc)


def user_by_username(username: str) -> AuthUser:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise NotFound(loc=("user",), key="not_found.user", params={"user": repr(username)})
    return user
