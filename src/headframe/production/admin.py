"""Reference data of production in the admin: the indicator catalogue and holidays are group-wide, so
only users who manage the whole group (admin role on the group, or superusers) may change them."""

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext as _

from headframe.core.admin import ReadOnlyAdmin, audited_admin_delete, audited_admin_save
from headframe.core.text import hidden_character
from headframe.org.admin_scoping import (
    GROUP_REFERENCE,
    GroupReferenceAdmin,
    ScopedModuleMixin,
    group_path,
    register_choice_scope,
)
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.production.models import Holiday, Indicator, PlanVersion, PlausibleRange, ShiftCalendar

register_choice_scope(Indicator, GROUP_REFERENCE)  # the catalogue is the whole group's


class CleanNamesForm(forms.ModelForm):
    """Names shown on every dashboard and export refuse NUL, bidi-override and zero-width characters."""

    text_fields = ("code", "name_vi", "name_en", "unit_of_measure", "name")

    def clean(self):
        data = super().clean()
        for name in self.text_fields:
            value = data.get(name)
            found = hidden_character(value) if isinstance(value, str) else None
            if found:
                self.add_error(name, f"contains an invisible or control character ({found}); retype it")
        return data


@admin.register(Indicator)
class IndicatorAdmin(GroupReferenceAdmin):
    form = CleanNamesForm
    list_display = [
        "code",
        "name_vi",
        "unit_of_measure",
        "aggregation",
        "higher_is_better",
        "is_key",
        "is_active",
    ]
    list_filter = ["aggregation", "is_key", "is_active"]
    search_fields = ["code", "name_vi", "name_en"]

    def get_readonly_fields(self, request, obj=None):
        # Changing how an indicator aggregates would silently change every stored total.
        return ["code", "aggregation", "weight", "numerator", "denominator"] if obj else []


@admin.register(Holiday)
class HolidayAdmin(GroupReferenceAdmin):
    form = CleanNamesForm
    list_display = ["day", "name"]
    date_hierarchy = "day"


@admin.register(PlanVersion)
class PlanVersionAdmin(ReadOnlyAdmin):
    """Plan versions are approved through the API or import; the admin only shows them, in scope."""

    list_display = ["unit", "year", "kind", "effective_from", "approved_by", "approved_at"]
    list_filter = ["year", "kind"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(scope_for(request.user).q(Perm.VIEW, "unit__path"))

    def has_module_permission(self, request):
        return request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_staff


class UnitPlanningAdmin(ScopedModuleMixin, admin.ModelAdmin):
    """Rows that hold for a unit's subtree (shift calendars, plausible ranges): shown in the user's view,
    written by planners of the unit (a row without a unit: planners of the whole group); audited; the model's
    clean() runs on every save (a calendar must cover 24 hours)."""

    choices_perm = Perm.PLAN

    def get_queryset(self, request):
        scope = scope_for(request.user)
        rows = super().get_queryset(request).select_related("unit")
        if scope.is_superuser:
            return rows
        return rows.filter(scope.q(Perm.VIEW, "unit__path") | self._unitless())

    def _unitless(self):
        return Q(pk__in=[])

    def _path(self, obj) -> str:
        return obj.unit.path if obj.unit_id else group_path()

    def has_add_permission(self, request):
        scope = scope_for(request.user)
        return scope.is_superuser or bool(scope.paths(Perm.PLAN))

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return self.has_add_permission(request)
        return scope_for(request.user).allows(Perm.PLAN, self._path(obj))

    def has_delete_permission(self, request, obj=None):
        return obj is not None and self.has_change_permission(request, obj)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.request = request
        return form

    def save_model(self, request, obj, form, change):
        audited_admin_save(request, obj, form, change, unit_path=self._path(obj))

    def delete_model(self, request, obj):
        audited_admin_delete(request, obj, unit_path=self._path(obj))

    def delete_queryset(self, request, queryset):
        for obj in queryset:  # already cut to the user's view; each deletion audited on its own
            if self.has_delete_permission(request, obj):
                audited_admin_delete(request, obj, unit_path=self._path(obj))


@admin.register(ShiftCalendar)
class ShiftCalendarAdmin(UnitPlanningAdmin):
    list_display = ["unit", "shift_count", "first_shift_start", "shift_hours", "late_grace_minutes"]
    search_fields = ["unit__code", "unit__name_vi"]


class PlausibleRangeForm(forms.ModelForm):
    def clean(self):
        data = super().clean()
        low, high = data.get("impossible_below"), data.get("impossible_above")
        if low is not None and high is not None and low >= high:
            self.add_error("impossible_above", _("must be above the lower impossible bound"))
        for name in ("shift_above", "day_above", "best_multiple"):
            value = data.get(name)
            if value is not None and value <= 0:
                self.add_error(name, _("must be above 0"))
        request = getattr(self, "request", None)
        unit = data.get("unit")
        if (
            request is not None
            and unit is None
            and not scope_for(request.user).allows(Perm.PLAN, group_path())
        ):
            self.add_error(
                "unit", _("only a planner of the whole group may set a range that holds everywhere")
            )
        return data


@admin.register(PlausibleRange)
class PlausibleRangeAdmin(UnitPlanningAdmin):
    form = PlausibleRangeForm
    list_display = [
        "indicator",
        "unit",
        "impossible_below",
        "impossible_above",
        "shift_above",
        "day_above",
        "best_multiple",
    ]
    list_filter = ["indicator"]
    search_fields = ["indicator__code", "unit__code"]

    def _unitless(self):
        return Q(unit__isnull=True)  # everywhere-ranges are readable by all who see the module
