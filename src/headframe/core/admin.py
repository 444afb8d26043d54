"""Admin building blocks with no notion of units or roles: read-only rows and audited saves. Scoping by unit
and role lives one layer up, in headframe.org.admin_scoping."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin

from headframe.core.services import audited_create, audited_delete, audited_update

if TYPE_CHECKING:
    from django import forms
    from django.db import models
    from django.http import HttpRequest

    # ModelAdmin is generic in django-stubs only (not subscriptable at run time).
    ModelAdmin = admin.ModelAdmin[Any]
else:
    ModelAdmin = admin.ModelAdmin


def audited_admin_save(
    request: HttpRequest, obj: models.Model, form: forms.ModelForm[Any], change: bool, *, unit_path: str
) -> None:
    """An admin form's save through the audited services: a create, or an update of the changed fields."""
    if change:
        fresh = type(obj)._default_manager.get(pk=obj.pk)
        changes = {f: form.cleaned_data[f] for f in form.changed_data}
        audited_update(actor=request.user, obj=fresh, changes=changes, unit_path=unit_path)
    else:
        audited_create(actor=request.user, obj=obj, unit_path=unit_path)


def audited_admin_delete(request: HttpRequest, obj: models.Model, *, unit_path: str) -> None:
    """An admin deletion through the audited services: the row's last values go to the audit log."""
    audited_delete(actor=request.user, obj=obj, unit_path=unit_path)


class ReadOnlyAdmin(ModelAdmin):
    """Rows written only by services: the admin may show them, never add, change or delete them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any | None = None) -> bool:
        return False
