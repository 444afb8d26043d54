from django.contrib import admin

from headframe.core.audit import channel
from headframe.core.models import AuditEntry
from headframe.core.services import audited_create, audited_update
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for


class ScopedModuleMixin:
    """Shown (and readable) to staff users who hold `module_perm` somewhere in the tree; superusers always."""

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
