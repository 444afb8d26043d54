"""Who a service acts for.

`Actor` is the user a write or a scoped read is done for: a logged-in user, the anonymous visitor of a page (who
may do nothing), or None — the system itself (the shell, a migration, the demo loader), acting with every right."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias, TypeGuard

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

Actor: TypeAlias = "User | AnonymousUser | None"

RequestUser: TypeAlias = "User | AnonymousUser"
"""`request.user`: an Actor that is never the system."""


def is_user(actor: Actor) -> TypeGuard[User]:
    """Whether `actor` is a stored user (one an audit row can point to): not the system, not anonymous."""
    return bool(getattr(actor, "pk", None))
