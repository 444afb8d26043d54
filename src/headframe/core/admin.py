from collections.abc import Callable

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet

from headframe.core.audit import channel
from headframe.core.models import AuditEntry
from headframe.core.services import audited_create, audited_update
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for

# --- choices in admin forms ---------------------------------------------------------------------------
# A company administrator must not see (let alone pick) another company's units, gateways or users in a form.
# Every foreign-key and many-to-many choice is cut to the rows the user may manage, by a rule per related model:
# the lookup of the unit path its rows hang under, GROUP_REFERENCE for group-wide reference data everyone picks
# from (indicators, limit profiles), or a callable(user, perm) -> QuerySet. A model without a rule falls back to
# its own `path`, `unit` or `site` field, and to no choices at all when it has none (superusers see everything).
GROUP_REFERENCE = "group-reference"
CHOICE_SCOPES: dict[str, str | Callable[..., QuerySet]] = {}


def register_choice_scope(model: type[Model], rule: str | Callable[..., QuerySet]) -> None:
    CHOICE_SCOPES[model._meta.label_lower] = rule


def users_in_scope(user, perm: str = Perm.MANAGE) -> QuerySet:
    """Logins holding a role somewhere the user has perm (the user's own login included)."""
    users = get_user_model()._default_manager.all()
    scope = scope_for(user)
    if scope.is_superuser:
        return users
    in_scope = users.filter(scope.q(perm, "role_assignments__unit__path")).values("pk")
    return users.filter(pk__in=in_scope) | users.filter(pk=user.pk)


def _default_rule(model: type[Model]) -> str | None:
    names = {f.name for f in model._meta.get_fields()}
    if "path" in names:
        return "path"
    for name in ("unit", "site"):
        if name in names and getattr(model._meta.get_field(name), "related_model", None) is not None:
            return f"{name}__path"
    return None


def scoped_choices(model: type[Model], user, perm: str = Perm.MANAGE) -> QuerySet:
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


class ScopedChoicesMixin:
    """Foreign-key and many-to-many choices cut to the user's scope (see scoped_choices); a subclass that sets
    its own queryset for a field keeps it."""

    choices_perm = Perm.MANAGE

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = scoped_choices(db_field.related_model, request.user, self.choices_perm)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = scoped_choices(db_field.related_model, request.user, self.choices_perm)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ScopedModuleMixin(ScopedChoicesMixin):
    """Shown (and readable) to staff users who hold `module_perm` somewhere in the tree; superusers always.
    Form choices are cut to the user's scope (ScopedChoicesMixin)."""

    module_perm = Perm.VIEW

    def has_module_permission(self, request):
        scope = scope_for(request.user)
        return request.user.is_staff and (scope.is_superuser or bool(scope.paths(self.module_perm)))

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)


def audited_admin_save(request, obj, form, change: bool, *, unit_path: str) -> None:
    """An admin form's save through the audited services: a create, or an update of the changed fields."""
    with channel("admin"):
        if change:
            fresh = type(obj).objects.get(pk=obj.pk)
            changes = {f: form.cleaned_data[f] for f in form.changed_data}
            audited_update(actor=request.user, obj=fresh, changes=changes, unit_path=unit_path)
        else:
            audited_create(actor=request.user, obj=obj, unit_path=unit_path)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by services: the admin may show them, never add, change or delete them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ScopedModuleMixin, ReadOnlyAdmin):
    """Read-only, and only the entries of the units the user may audit."""

    module_perm = Perm.AUDIT

    list_display = ["at", "actor_name", "channel", "action", "object_type", "object_repr", "unit_path"]
    list_filter = ["action", "channel", "object_type"]
    search_fields = ["object_repr", "actor_name", "unit_path"]
    date_hierarchy = "at"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(scope_for(request.user).q(Perm.AUDIT, "unit_path"))
