"""The workforce in the admin, read-mostly: workers, certificates, rosters and presences are written through the
audited services (import, roster, lamp room) and only read here, cut to the user's scope; the course catalogue
is group-wide reference data, writable by the group's managers."""

from django.contrib import admin

from headframe.core.admin import ReadOnlyAdmin
from headframe.org.admin_scoping import GroupReferenceAdmin, ScopedModuleMixin
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.workforce.models import Certificate, Course, Presence, RosterEntry, Worker


class _ScopedReadOnly(ScopedModuleMixin, ReadOnlyAdmin):
    unit_lookup = "unit__path"
    related = ()

    def get_queryset(self, request):
        rows = super().get_queryset(request).filter(scope_for(request.user).q(Perm.VIEW, self.unit_lookup))
        return rows.select_related(*self.related)


@admin.register(Worker)
class WorkerAdmin(_ScopedReadOnly):
    list_display = [
        "employee_no",
        "full_name",
        "unit",
        "team",
        "trade",
        "skill_grade",
        "health_class",
        "tag_no",
    ]
    list_filter = ["trade", "health_class", "is_active"]
    search_fields = ["employee_no", "full_name", "tag_no", "unit__code"]
    related = ("unit",)


@admin.register(Course)
class CourseAdmin(GroupReferenceAdmin):
    list_display = ["code", "name_vi", "name_en", "validity_months", "required_underground"]
    search_fields = ["code", "name_vi", "name_en"]


@admin.register(Certificate)
class CertificateAdmin(_ScopedReadOnly):
    unit_lookup = "worker__unit__path"
    list_display = ["worker", "course", "passed_on", "expires_on"]
    list_filter = ["course"]
    search_fields = ["worker__employee_no", "worker__full_name"]
    related = ("worker", "course")


@admin.register(RosterEntry)
class RosterEntryAdmin(_ScopedReadOnly):
    unit_lookup = "position__path"
    list_display = ["day", "shift", "position", "worker"]
    list_filter = ["shift"]
    search_fields = ["worker__employee_no", "worker__full_name", "position__code"]
    date_hierarchy = "day"
    related = ("worker", "position")


@admin.register(Presence)
class PresenceAdmin(_ScopedReadOnly):
    unit_lookup = "site__path"
    list_display = ["worker", "site", "checked_in_at", "checked_out_at", "override_by"]
    list_filter = ["checked_in_at"]  # not by mine: a filter lists every unit, another company's too
    search_fields = ["worker__employee_no", "worker__full_name"]
    date_hierarchy = "checked_in_at"
    related = ("worker", "site", "override_by")
