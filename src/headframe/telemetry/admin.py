"""Telemetry in the admin: limit profiles are group reference data; gateways, sensors and site overrides are
changed by administrators of their site; alarms, the journal and the quarantine are read-only. Every change is
audited through the same services as the API."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied

from headframe.core.admin import ReadOnlyAdmin, audited_admin_save
from headframe.core.audit import diff, snapshot
from headframe.org.admin_scoping import (
    GROUP_REFERENCE,
    GroupReferenceAdmin,
    ScopedModuleMixin,
    register_choice_scope,
)
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.telemetry.directory import directory
from headframe.telemetry.models import (
    Alarm,
    AlarmJournal,
    Gateway,
    Limit,
    LimitProfile,
    Quarantine,
    Sensor,
    SiteLimitSetting,
)
from headframe.telemetry.services import audit_other_place

# What a site administrator may pick in a form: their own gateways and sensors, any regulatory limit.
register_choice_scope(Gateway, "site__path")
register_choice_scope(Sensor, "gateway__site__path")
register_choice_scope(LimitProfile, GROUP_REFERENCE)
register_choice_scope(Limit, GROUP_REFERENCE)


@admin.register(LimitProfile)
class LimitProfileAdmin(GroupReferenceAdmin):
    list_display = ["code", "name_vi", "is_default"]


@admin.register(Limit)
class LimitAdmin(GroupReferenceAdmin):
    list_display = ["profile", "code", "kind", "location", "direction", "threshold", "priority", "latching"]
    list_display += ["clause", "confirmed"]
    list_filter = ["profile", "kind", "confirmed", "latching"]
    search_fields = ["code", "clause"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        directory.invalidate()


class SiteScopedAdmin(ScopedModuleMixin, admin.ModelAdmin):
    """Rows that belong to a site: visible in the user's scope, changed by its administrators, audited."""

    site_field = "site"

    def _site_path(self, obj) -> str:
        site = obj
        for part in self.site_field.split("__"):
            site = getattr(site, part)
        return site.path

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(scope_for(request.user).q(Perm.VIEW, f"{self.site_field}__path"))
        )

    def has_add_permission(self, request):
        scope = scope_for(request.user)
        return scope.is_superuser or bool(scope.paths(Perm.MANAGE))

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return self.has_add_permission(request)
        return scope_for(request.user).allows(Perm.MANAGE, self._site_path(obj))

    def has_delete_permission(self, request, obj=None):
        return False  # readings and alarms refer to them; take a sensor out of service instead

    def save_model(self, request, obj, form, change):
        path = self._site_path(obj)
        if not scope_for(request.user).allows(Perm.MANAGE, path):
            raise PermissionDenied("not an administrator of this site")
        # The current place too (moved from another company's site?), and the move audited under both places.
        before = type(obj).objects.get(pk=obj.pk) if change else None
        old_path = self._site_path(before) if before is not None else path
        if not scope_for(request.user).allows(Perm.MANAGE, old_path):
            raise PermissionDenied("not an administrator of this site")
        audited_admin_save(request, obj, form, change, unit_path=path)
        if before is not None and old_path != path:
            moved_from, moved_to = diff(snapshot(before), snapshot(obj))
            audit_other_place(
                actor=request.user,
                obj=obj,
                from_path=old_path,
                to_path=path,
                before=moved_from,
                after=moved_to,
            )
        directory.invalidate()


@admin.register(Gateway)
class GatewayAdmin(SiteScopedAdmin):
    list_display = ["code", "site", "online", "last_seen", "messages", "readings_stored"]
    readonly_fields = ["online", "last_seen", "last_seq", "messages", "readings_stored"]
    search_fields = ["code", "name"]


@admin.register(Sensor)
class SensorAdmin(SiteScopedAdmin):
    site_field = "gateway__site"
    list_display = [
        "code",
        "kind",
        "location",
        "position",
        "gateway",
        "period_s",
        "calibration_due",
        "in_service",
    ]
    list_filter = ["kind", "location", "in_service"]
    search_fields = ["code", "name", "sparkplug_metric"]
    raw_id_fields = ["position"]
    # Out of service only through the safety officer's action (a reason and an expiry), never a checkbox.
    readonly_fields = ["in_service", "out_of_service_until", "out_of_service_reason", "out_of_service_by"]


@admin.register(SiteLimitSetting)
class SiteLimitSettingAdmin(SiteScopedAdmin):
    """A site's override of a regulatory default: audited with the reason."""

    list_display = [
        "site",
        "limit",
        "threshold",
        "deadband",
        "on_delay_s",
        "off_delay_s",
        "enabled",
        "reason",
    ]


class SiteReadOnlyAdmin(ScopedModuleMixin, ReadOnlyAdmin):
    path_field = "site_path"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(scope_for(request.user).q(Perm.VIEW, self.path_field))


@admin.register(Alarm)
class AlarmAdmin(SiteReadOnlyAdmin):
    list_display = [
        "raised_at",
        "sensor",
        "subject",
        "limit_code",
        "priority",
        "message",
        "acked_at",
        "closed_at",
    ]
    list_filter = ["priority", "limit_code"]
    date_hierarchy = "raised_at"


@admin.register(AlarmJournal)
class AlarmJournalAdmin(SiteReadOnlyAdmin):
    list_display = ["at", "condition", "event", "state", "value", "user", "comment"]
    list_filter = ["event", "state"]
    date_hierarchy = "at"


@admin.register(Quarantine)
class QuarantineAdmin(ScopedModuleMixin, ReadOnlyAdmin):
    """Refused readings carry no unit: only administrators see them."""

    module_perm = Perm.MANAGE
    list_display = ["received_at", "gateway_code", "sensor_code", "ts_raw", "value_raw", "reason", "detail"]
    list_filter = ["reason", "channel"]
    search_fields = ["gateway_code", "sensor_code"]

    def get_queryset(self, request):
        """A company administrator sees what their own gateways sent; what came from an unknown gateway
        belongs to no company and is shown to superusers only."""
        rows = super().get_queryset(request)
        scope = scope_for(request.user)
        if scope.is_superuser:
            return rows
        gateways = Gateway.objects.filter(scope.q(Perm.MANAGE, "site__path")).values("code")
        return rows.filter(gateway_code__in=gateways)
