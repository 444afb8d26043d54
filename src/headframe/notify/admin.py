"""Notifications in the admin: the on-call roster is edited by a unit's administrators and safety officers
through the audited services; the outbox (notifications, deliveries, attempts) is read-only."""

from django.contrib import admin

from headframe.core.admin import ReadOnlyAdmin
from headframe.notify import selectors, services
from headframe.notify.models import Delivery, DeliveryAttempt, Notification, OnCallEntry
from headframe.org.admin_scoping import ScopedModuleMixin
from headframe.org.models import Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for


def _target(delivery) -> str:
    return delivery.target if delivery.channel == "email" else selectors.redacted_url(delivery.target)


def _roster_q(user):
    scope = scope_for(user)
    return scope.q(Perm.MANAGE) | scope.q(Perm.SAFETY)


@admin.register(OnCallEntry)
class OnCallEntryAdmin(ScopedModuleMixin, admin.ModelAdmin):
    list_display = ["name", "unit", "level", "min_priority", "email", "webhook", "active"]
    list_filter = ["level", "min_priority", "active"]
    search_fields = ["name", "email", "unit__code"]

    @admin.display(description="webhook")
    def webhook(self, obj):
        return selectors.redacted_url(obj.webhook_url)  # the whole URL (it may hold a token) only in the form

    def get_exclude(self, request, obj=None):
        if obj is not None and not services.roster_editable(request.user, obj.unit.path):
            return ["webhook_url"]
        return super().get_exclude(request, obj)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(scope_for(request.user).q(Perm.VIEW, "unit__path"))
            .select_related("unit")
        )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "webhook_url":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "unit":
            kwargs["queryset"] = Unit.objects.filter(_roster_q(request.user), kind__in=services.ROSTER_KINDS)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request):
        scope = scope_for(request.user)
        return scope.is_superuser or bool(scope.paths(Perm.MANAGE) or scope.paths(Perm.SAFETY))

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return self.has_add_permission(request)
        return services.roster_editable(request.user, obj.unit.path)

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            fresh = OnCallEntry.objects.select_related("unit").get(pk=obj.pk)
            changes = {f: form.cleaned_data[f] for f in form.changed_data}
            services.oncall_update(actor=request.user, entry=fresh, changes=changes)
        else:
            fields = {f: getattr(obj, f) for f in ("level", "name", "email", "webhook_url", "min_priority")}
            created = services.oncall_create(
                actor=request.user, unit_code=obj.unit.code, active=obj.active, **fields
            )
            obj.pk = created.pk

    def delete_model(self, request, obj):
        services.oncall_delete(actor=request.user, entry=obj)

    def delete_queryset(self, request, queryset):
        for entry in queryset.select_related("unit"):
            services.oncall_delete(actor=request.user, entry=entry)


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ["channel", "shown_target", "status", "attempts", "next_attempt_at", "sent_at", "last_error"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="target")
    def shown_target(self, obj):
        return _target(obj)


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ["number", "at", "ok", "duration_ms", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(ScopedModuleMixin, ReadOnlyAdmin):
    list_display = ["created_at", "event", "priority", "level", "subject", "source_ref"]
    list_filter = ["event", "priority", "level"]
    search_fields = ["subject", "source_ref", "site_path"]
    date_hierarchy = "created_at"
    inlines = [DeliveryInline]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(scope_for(request.user).q(Perm.VIEW, "site_path"))


@admin.register(Delivery)
class DeliveryAdmin(ScopedModuleMixin, ReadOnlyAdmin):
    list_display = ["id", "notification", "channel", "shown_target", "status", "attempts", "next_attempt_at"]
    list_display += ["sent_at"]
    list_filter = ["status", "channel"]
    search_fields = ["notification__subject", "notification__source_ref"]
    exclude = ["target", "claim_token"]
    readonly_fields = ["shown_target"]
    inlines = [AttemptInline]

    @admin.display(description="target")
    def shown_target(self, obj):
        return _target(obj)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(scope_for(request.user).q(Perm.VIEW, "notification__site_path"))
            .select_related("notification")
        )
