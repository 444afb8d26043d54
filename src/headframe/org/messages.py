"""The org app's error messages: catalogue key (a code, or code.variant) → English template with named
placeholders, translated through gettext. Registered into headframe.core.messages when the app is ready."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import translation
from django.utils.translation import gettext_noop as N

if TYPE_CHECKING:
    from headframe.core.messages import InLanguages


def both_languages(label: object, *, lower: bool = False) -> InLanguages:
    """A lazily translated label (a permission, a kind of unit, a severity) as a message parameter: shown in
    the language the message is rendered in, like `named(obj)`, never as its internal code."""
    shown: dict[str, str] = {}
    for language in ("vi", "en"):
        with translation.override(language):
            shown[language] = str(label).lower() if lower else str(label)
    return {"vi": shown["vi"], "en": shown["en"]}


MESSAGES: dict[str, str] = {
    "permission_denied.create_top_unit": N("you may not create a top-level unit here: outside your scope"),
    "permission_denied.add_units": N("you may not add units under this parent here: outside your scope"),
    "permission_denied.change_unit": N("you may not change this unit here: outside your scope"),
    "permission_denied.move_unit": N("you may not move this unit here: outside your scope"),
    "permission_denied.add_bridge_points": N("you may not add bridge points here: outside your scope"),
    "permission_denied.add_people": N("you may not add people here: outside your scope"),
    "permission_denied.change_record": N("you may not change this {record} here: outside your scope"),
    "permission_denied.move_record": N("you may not move it to that unit here: outside your scope"),
    "permission_denied.grant_roles": N("you may not grant roles here: outside your scope"),
    "permission_denied.revoke_roles": N("you may not revoke roles here: outside your scope"),
    "permission_denied.perm_for_unit": N("you may not {action} for unit {unit}"),
    "parent_required.kind": N("a {kind} must have a parent of kind {allowed}"),
    "parent_kind.under": N("a {kind} cannot be placed under a {parent} (expected {expected})"),
    "parent_kind.top_only": N("a {kind} cannot be placed under a {parent} (expected no parent)"),
    "read_only.field": N("{field} cannot be changed"),
    "enum.role": N("unknown role {role}; expected one of {choices}"),
    "not_found.user": N("no user named {user}"),
    "not_found.unit": N("unit {unit} not found"),
    "null.field": N("{field} may not be null"),
}
