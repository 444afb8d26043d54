from django.contrib import admin

from headframe.core.models import AuditEntry
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by services: the admin may show them, never add, change or delete them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """Read-only, and only the entries of the units the user may audit."""

    list_display = ["at", "actor_name", "channel", "action", "object_type", "object_repr", "unit_path"]
    list_filter = ["action", "channel", "object_type"]
    search_fields = ["object_repr", "actor_name", "unit_path"]
    date_hierarchy = "at"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(scope_for(request.user).q(Perm.AUDIT, "unit_path"))

    def has_module_permission(self, request):
        scope = scope_for(request.user)
        return request.user.is_staff and (scope.is_superuser or bool(scope.paths(Perm.AUDIT)))

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)
