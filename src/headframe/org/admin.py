"""The Django admin, limited to each user's scope and writing through org.services (so it is audited)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from headframe.core.admin import ModelAdmin
from headframe.core.errors import HeadframeError
from headframe.core.text import hidden_character
from headframe.org import login, services
from headframe.org.admin_scoping import ScopedChoicesMixin
from headframe.org.models import BridgePoint, LoginThrottle, Person, RoleAssignment, Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet
    from django.http import HttpRequest

    from headframe.core.actors import RequestUser

    # ModelForm is generic in django-stubs only (not subscriptable at run time).
    ModelForm = forms.ModelForm[Any]
else:
    ModelForm = forms.ModelForm


def _path_of(obj: Model, field: str) -> str:
    value: Any = obj
    for part in field.split("__"):
        value = getattr(value, part)
    path: str = value
    return path


class ScopedAdmin(ScopedChoicesMixin, ModelAdmin):
    """Rows outside the user's scope do not exist for them; writes need the `manage` permission there, and a
    form offers only the units (and logins) the user manages."""

    scope_field = "unit__path"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).filter(scope_for(request.user).q(Perm.VIEW, self.scope_field))

    def _allows(self, request: HttpRequest, perm: str, obj: Model | None) -> bool:
        scope = scope_for(request.user)
        if obj is None:
            return scope.is_superuser or bool(scope.paths(perm))
        return scope.allows(perm, _path_of(obj, self.scope_field))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff and self._allows(request, Perm.VIEW, None)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._allows(request, Perm.VIEW, obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._allows(request, Perm.MANAGE, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._allows(request, Perm.MANAGE, None)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # units, people and bridge points are deactivated, never deleted: history refers to them


class CleanTextForm(ModelForm):
    """Names and other typed text: no NUL, control, bidi-override or zero-width characters (core.text)."""

    clean_text_fields = ("name_vi", "name_en", "full_name", "job_title", "location", "phone")

    def clean(self) -> dict[str, Any]:
        # ModelForm.clean returns cleaned_data (django-stubs types it as possibly None).
        cleaned = super().clean() or self.cleaned_data
        for name in self.clean_text_fields:
            value = cleaned.get(name)
            found = hidden_character(value) if isinstance(value, str) else None
            if found:
                self.add_error(
                    name,
                    _("This text contains an invisible or control character (%(char)s); retype it.")
                    % {"char": found},
                )
        return cleaned


class UnitAdminForm(CleanTextForm):
    request_user: RequestUser  # set on the form class by UnitAdmin.get_form, for the placement check

    class Meta:
        model = Unit
        fields = [
            "code",
            "name_vi",
            "name_en",
            "kind",
            "site_type",
            "position_kind",
            "parent",
            "is_active",
            "valid_from",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("kind") or (self.instance.kind if self.instance.pk else None)
        if kind:
            try:
                services.unit_check_placement(
                    actor=self.request_user,
                    kind=kind,
                    parent=cleaned.get("parent"),
                    unit=self.instance if self.instance.pk else None,
                )
            except HeadframeError as exc:
                self.add_error("parent", exc.items[0].text)
        return cleaned


@admin.register(Unit)
class UnitAdmin(ScopedAdmin):
    form = UnitAdminForm
    scope_field = "path"
    list_display = ["code", "name_vi", "kind", "site_type", "position_kind", "parent", "is_active"]
    list_filter = ["kind", "site_type", "is_active"]
    search_fields = ["code", "name_vi", "name_en"]
    readonly_fields = ["path"]

    def get_readonly_fields(self, request: HttpRequest, obj: Unit | None = None) -> list[str]:
        return ["code", "kind", "path"] if obj else ["path"]

    def get_form(
        self, request: HttpRequest, obj: Unit | None = None, change: bool = False, **kwargs: Any
    ) -> type[ModelForm]:
        form = super().get_form(request, obj, change=change, **kwargs)
        assert issubclass(form, UnitAdminForm)  # built from `form` above
        form.request_user = request.user
        return form

    def save_model(self, request: HttpRequest, obj: Unit, form: UnitAdminForm, change: bool) -> None:
        if change:
            changes = {f: form.cleaned_data[f] for f in form.changed_data if f != "parent"}
            if "parent" in form.changed_data:
                changes["parent"] = form.cleaned_data["parent"].code if form.cleaned_data["parent"] else None
            fresh = Unit.objects.get(pk=obj.pk)
            services.unit_update(actor=request.user, unit=fresh, changes=changes)
        else:
            data = {f: form.cleaned_data[f] for f in UnitAdminForm.Meta.fields if f != "parent"}
            parent = form.cleaned_data.get("parent")
            created = services.unit_create(
                actor=request.user, parent_code=parent.code if parent else None, **data
            )
            obj.pk = created.pk


class UnitFkAdmin(ScopedAdmin):
    """Bridge points and people: saved with the generic audited helpers after the scope check."""

    editable: set[str] = set()

    def create(self, request: HttpRequest, data: dict[str, Any]) -> None:
        """Create the row from the add form's data with the model's own create service."""
        raise NotImplementedError

    def save_model(
        self, request: HttpRequest, obj: BridgePoint | Person, form: ModelForm, change: bool
    ) -> None:
        if change:
            changes = {f: form.cleaned_data[f] for f in form.changed_data}
            if "unit" in changes:
                changes["unit"] = changes["unit"].code
            fresh = type(obj).objects.get(pk=obj.pk)
            services.record_update(actor=request.user, obj=fresh, changes=changes, editable=self.editable)
        else:
            self.create(request, form.cleaned_data)  # each subclass calls its own create service


@admin.register(BridgePoint)
class BridgePointAdmin(UnitFkAdmin):
    form = CleanTextForm
    list_display = ["code", "name_vi", "unit", "location", "is_active"]
    search_fields = ["code", "name_vi"]
    fields = ["code", "name_vi", "name_en", "unit", "location", "is_active"]
    editable = {"name_vi", "name_en", "unit", "location", "is_active"}

    def create(self, request: HttpRequest, data: dict[str, Any]) -> None:
        services.bridge_point_create(
            actor=request.user,
            code=data["code"],
            name_vi=data["name_vi"],
            name_en=data["name_en"],
            unit_code=data["unit"].code,
            location=data["location"],
        )


@admin.register(Person)
class PersonAdmin(UnitFkAdmin):
    form = CleanTextForm
    list_display = ["employee_no", "full_name", "unit", "job_title", "is_active"]
    search_fields = ["employee_no", "full_name"]
    fields = ["employee_no", "full_name", "unit", "job_title", "phone", "is_active"]
    editable = {"full_name", "unit", "job_title", "phone", "is_active"}

    def create(self, request: HttpRequest, data: dict[str, Any]) -> None:
        services.person_create(
            actor=request.user,
            employee_no=data["employee_no"],
            full_name=data["full_name"],
            unit_code=data["unit"].code,
            job_title=data["job_title"],
            phone=data["phone"],
        )


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ScopedAdmin):
    list_display = ["user", "role", "unit", "granted_at"]
    list_filter = ["role"]
    fields = ["user", "role", "unit"]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)  # grant or revoke, never edit

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._allows(request, Perm.MANAGE, obj)

    def save_model(self, request: HttpRequest, obj: RoleAssignment, form: ModelForm, change: bool) -> None:
        created = services.role_grant(
            actor=request.user, user=obj.user, role=obj.role, unit_code=obj.unit.code
        )
        obj.pk = created.pk

    def delete_model(self, request: HttpRequest, obj: RoleAssignment) -> None:
        services.role_revoke(actor=request.user, assignment=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[RoleAssignment]) -> None:
        for assignment in queryset:
            self.delete_model(request, assignment)


@admin.register(LoginThrottle)
class LoginThrottleAdmin(ModelAdmin):
    """Failed log-ins and locks (org.login): per user name at one address, per user name, per address. An
    administrator sees and unlocks only users whose roles all lie in the units they manage and who are not
    superusers (login.users_unlockable_by) — not a group administrator who also holds a role in their company;
    superusers see and unlock everything, addresses included. Every unlock is audited."""

    list_display = ("what", "key", "failures", "last_failure_at", "locked_until", "locked")
    search_fields = ["key"]
    fields = list_display
    readonly_fields = list_display
    actions = ["unlock"]

    @admin.display(description=_("kind"), ordering="kind")
    def what(self, obj: LoginThrottle) -> str:
        if obj.kind == login.PAIR:
            return f"{LoginThrottle.Kind.ACCOUNT.label} @ {LoginThrottle.Kind.ADDRESS.label}"
        return obj.get_kind_display()

    @admin.display(boolean=True, description=_("locked"))
    def locked(self, obj: LoginThrottle) -> bool:
        return obj.is_locked

    def get_queryset(self, request: HttpRequest) -> QuerySet[LoginThrottle]:
        return login.throttles_unlockable_by(request.user)

    def _manages(self, request: HttpRequest) -> bool:
        scope = scope_for(request.user)
        return (
            request.user.is_active
            and request.user.is_staff
            and (scope.is_superuser or bool(scope.paths(Perm.MANAGE)))
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._manages(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._manages(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._manages(request)  # only through the unlock action: every field is read-only

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.action(description=_("Unlock the selected user names / addresses"))
    def unlock(self, request: HttpRequest, queryset: QuerySet[LoginThrottle]) -> None:
        rows = list(queryset)  # already cut to what the user may unlock by get_queryset
        for row in rows:
            login.login_unlock(actor=request.user, throttle=row)  # checks the user's right again
        count = len(rows)
        self.message_user(
            request,
            ngettext("%(count)d log-in lock cleared.", "%(count)d log-in locks cleared.", count)
            % {"count": count},
            messages.SUCCESS,
        )
