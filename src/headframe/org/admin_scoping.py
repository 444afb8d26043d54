"""The admin cut to what a user may manage: form choices limited to the user's units, modules shown by role,
group-wide reference data writable only by the group's managers, and the audit log read by unit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet

from headframe.core.admin import ModelAdmin, ReadOnlyAdmin, audited_admin_save
from headframe.core.models import AuditEntry
from headframe.org.models import Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for

if TYPE_CHECKING:
    from collections.abc import Callable

    from django import forms
    from django.contrib.auth.models import User as AuthUser
    from django.db.models import ForeignKey, ManyToManyField
    from django.http import HttpRequest

    from headframe.core.actors import RequestUser

    # The mixins below call ModelAdmin's methods through super(): to mypy they are ModelAdmins, at run time plain
    # mixins in front of one.
    AdminMixinBase = ModelAdmin
else:
    AdminMixinBase = object

ChoiceRule: TypeAlias = "str | Callable[[RequestUser, str], QuerySet[Any]]"
"""A unit-path lookup, GROUP_REFERENCE, or callable(user, perm) -> the rows the user may pick."""

# --- choices in admin forms ---------------------------------------------------------------------------
# A company administrator must not see (let alone pick) another company's units, gateways or users in a form.
# Every foreign-key and many-to-many choice is cut to the rows the user may manage, by a rule per related model:
# the lookup of the unit path its rows hang under, GROUP_REFERENCE for group-wide reference data everyone picks
# from (indicators, limit profiles), or a callable(user, perm) -> QuerySet. A model without a rule falls back to
# its own `path`, `unit` or `site` field, and to no choices at all when it has none (superusers see everything).
GROUP_REFERENCE = "group-reference"
CHOICE_SCOPES: dict[str, ChoiceRule] = {}


def register_choice_scope(model: type[Model], rule: ChoiceRule) -> None:
    CHOICE_SCOPES[model._meta.label_lower] = rule


def users_in_scope(user: RequestUser, perm: str = Perm.MANAGE) -> QuerySet[AuthUser]:
    """Logins holding a role somewhere the user has perm (the user's own login included)."""
    users = get_user_model()._default_manager.all()
    scope = scope_for(user)
    if scope.is_superuser:
        return users
    in_scope = users.filter(scope.q(perm, "role_assignments__unit__path")).values("pk")
    own = users.filter(pk=user.pk) if user.pk is not None else users.none()  # an anonymous user has no row
    return users.filter(pk__in=in_scope) | own


def _default_rule(model: type[Model]) -> str | None:
    names = {f.name for f in model._meta.get_fields()}
    if "path" in names:
        return "path"
    for name in ("unit", "site"):
        if name in names and getattr(model._meta.get_field(name), "related_model", None) is not None:
            return f"{name}__path"
    return None


def scoped_choices(model: type[Model], user: RequestUser, perm: str = Perm.MANAGE) -> QuerySet[Any]:
    """The rows of `model` that `user` may pick in a form."""
    rows = model._default_manager.all()
    scope = scope_for(user)
    if scope.is_superuser:
        return rows
    rule = CHOICE_SCOPES.get(model._meta.label_lower) or _default_rule(model)
    if rule == GROUP_REFERENCE:
        return rows
    if callable(rule):
        return rule(user, perm)
    if not rule:
        return rows.none()
    return rows.filter(scope.q(perm, rule))


register_choice_scope(get_user_model(), users_in_scope)


class ScopedChoicesMixin(AdminMixinBase):
    """Foreign-key and many-to-many choices cut to the user's scope (see scoped_choices); a subclass that sets
    its own queryset for a field keeps it."""

    choices_perm = Perm.MANAGE

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField[Any] | None:
        if "queryset" not in kwargs:
            kwargs["queryset"] = scoped_choices(db_field.related_model, request.user, self.choices_perm)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(
        self, db_field: ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelMultipleChoiceField[Any] | None:
        if "queryset" not in kwargs:
            kwargs["queryset"] = scoped_choices(db_field.related_model, request.user, self.choices_perm)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ScopedModuleMixin(ScopedChoicesMixin):
    """Shown (and readable) to staff users who hold `module_perm` somewhere in the tree; superusers always.
    Form choices are cut to the user's scope (ScopedChoicesMixin)."""

    module_perm = Perm.VIEW

    def has_module_permission(self, request: HttpRequest) -> bool:
        scope = scope_for(request.user)
        return request.user.is_staff and (scope.is_superuser or bool(scope.paths(self.module_perm)))

    def has_view_permission(self, request: HttpRequest, obj: Any | None = None) -> bool:
        return self.has_module_permission(request)


def group_path() -> str:
    """The path of the tree's root (the group): where group-wide reference data is audited."""
    root = Unit.objects.filter(parent__isnull=True).order_by("pk").first()
    return root.path if root else "/"


class GroupReferenceAdmin(ScopedModuleMixin, ModelAdmin):
    """Group-wide reference data (indicators, limit profiles): readable by every staff user with a role; writable
    by managers of the whole group; audited."""

    def _manages_group(self, request: HttpRequest) -> bool:
        return scope_for(request.user).allows(Perm.MANAGE, group_path())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._manages_group(request)

    def has_change_permission(self, request: HttpRequest, obj: Any | None = None) -> bool:
        return self._manages_group(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any | None = None) -> bool:
        return False  # figures, plans and limits refer to them

    def save_model(self, request: HttpRequest, obj: Model, form: forms.ModelForm[Any], change: bool) -> None:
        audited_admin_save(request, obj, form, change, unit_path=group_path())


@admin.register(AuditEntry)
class AuditEntryAdmin(ScopedModuleMixin, ReadOnlyAdmin):
    """Read-only, and only the entries of the units the user may audit."""

    module_perm = Perm.AUDIT

    list_display = ["at", "actor_name", "channel", "action", "object_type", "object_repr", "unit_path"]
    list_filter = ["action", "channel", "object_type"]
    search_fields = ["object_repr", "actor_name", "unit_path"]
    date_hierarchy = "at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).filter(scope_for(request.user).q(Perm.AUDIT, "unit_path"))
