"""What the production services share: the unit a write names, checked against the actor's rights."""

from __future__ import annotations

from headframe.core.errors import PermissionDenied
from headframe.org.models import Unit
from headframe.org.selectors import scope_for, unit_named


def _unit_for(actor, code: str, perm: str, *, refusal: str) -> Unit:
    """The unit a write names: unknown (or outside the actor's view) is a field error, visible but without
    `perm` is a refusal. `refusal` is its catalogue key (permission_denied.<what>), naming the unit {unit}."""
    unit = unit_named(actor, code, loc=("body", "unit"))
    if not scope_for(actor).allows(perm, unit.path):
        raise PermissionDenied(loc=("body", "unit"), params={"unit": unit.code}, key=refusal)
    return unit
