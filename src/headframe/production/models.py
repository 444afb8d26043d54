"""Indicators, plans, shift calendars, actuals, deviations and period locks.

Quantities are Decimal in the indicator's base unit. A production day is a local calendar date; its
shifts follow the unit's shift calendar, and a shift that crosses midnight belongs to the day it started.
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from headframe.org.models import Unit


class Aggregation(models.TextChoices):
    SUM = "sum", _("sum")
    AVERAGE = "avg", _("average")
    WEIGHTED_AVERAGE = "wavg", _("weighted average")
    LAST = "last", _("last value")
    RATIO = "ratio", _("ratio of two indicators (derived)")


class Indicator(models.Model):
    """One figure the group steers by. Derived indicators (aggregation=ratio) are never entered or summed:
    they are computed from the totals of their numerator and denominator at every level."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name_vi = models.CharField(_("Vietnamese name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200)
    unit_of_measure = models.CharField(_("unit of measure"), max_length=20)
    aggregation = models.CharField(_("aggregation"), max_length=8, choices=Aggregation.choices)
    weight = models.ForeignKey(
        "self",
        verbose_name=_("weight indicator"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("for weighted averages"),
    )
    numerator = models.ForeignKey(
        "self", verbose_name=_("numerator"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    denominator = models.ForeignKey(
        "self",
        verbose_name=_("denominator"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    site_types = models.JSONField(
        _("reported by site types"), default=list, blank=True, help_text=_("empty: every site type")
    )
    higher_is_better = models.BooleanField(_("higher is better"), default=True)
    decimals = models.PositiveSmallIntegerField(_("decimals shown"), default=0)
    is_key = models.BooleanField(_("key indicator (dashboard)"), default=False)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(aggregation="wavg") | Q(weight__isnull=False),
                name="%(app_label)s_%(class)s_wavg_needs_weight",
            ),
            models.CheckConstraint(
                condition=~Q(aggregation="ratio") | Q(numerator__isnull=False, denominator__isnull=False),
                name="%(app_label)s_%(class)s_ratio_needs_terms",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.unit_of_measure})"

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "vi").startswith("en") else self.name_vi

    @property
    def is_derived(self) -> bool:
        return self.aggregation == Aggregation.RATIO


class ShiftCalendar(models.Model):
    """When a unit's shifts start. Applies to the unit's subtree unless a unit below has its own.

    The shifts of a production day cover 24 hours (shift_count × shift_hours = 24): shift n of day D starts at
    first_shift_start + (n-1) × shift_hours on D. A day's figures are late when they arrive after the end of its
    last shift plus `late_grace_minutes` (06:00 start, 3 × 8 h, 120 min → 08:00 the next morning)."""

    unit = models.OneToOneField(Unit, on_delete=models.CASCADE, related_name="shift_calendar")
    shift_count = models.PositiveSmallIntegerField(_("shifts per day"), default=3)
    first_shift_start = models.TimeField(_("first shift starts"), default=dt.time(6, 0))
    shift_hours = models.PositiveSmallIntegerField(_("hours per shift"), default=8)
    late_grace_minutes = models.PositiveSmallIntegerField(
        _("grace after the last shift (minutes)"),
        default=120,
        help_text=_("figures of a day are late after the end of its last shift plus this"),
    )

    class Meta:
        verbose_name = _("shift calendar")
        verbose_name_plural = _("shift calendars")
        constraints = [
            models.CheckConstraint(
                condition=Q(shift_count__gte=1, shift_count__lte=4),
                name="%(app_label)s_%(class)s_shift_count",
            ),
            models.CheckConstraint(
                condition=Q(late_grace_minutes__lte=24 * 60),
                name="%(app_label)s_%(class)s_grace_within_a_day",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.unit_id}: {self.shift_count} × {self.shift_hours} h from {self.first_shift_start:%H:%M}"
        )

    def clean(self):
        if self.shift_count and self.shift_hours and self.shift_count * self.shift_hours != 24:
            raise ValidationError(
                {
                    "shift_hours": _(
                        "the shifts must cover 24 hours: %(count)s shifts × %(hours)s h = %(total)s h"
                    )
                    % {
                        "count": self.shift_count,
                        "hours": self.shift_hours,
                        "total": self.shift_count * self.shift_hours,
                    }
                }
            )


class Holiday(models.Model):
    """A non-working day (Tet, national holidays): no daily plan falls on it. Without a unit it holds for the
    whole group; with one, for that unit's subtree only (a company's own day off)."""

    day = models.DateField(_("day"))
    name = models.CharField(_("name"), max_length=100)
    unit = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("unit"),
        help_text=_("empty: the whole group"),
    )

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["day"], condition=Q(unit__isnull=True), name="production_holiday_group_day"
            ),
            models.UniqueConstraint(fields=["unit", "day"], name="production_holiday_unit_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day:%d/%m/%Y} {self.name}"


class PlausibleRange(models.Model):
    """What a figure of an indicator can be (impossible outside: refused) and what it is likely to be
    (implausible outside: accepted only when the person entering it confirms). Without a unit it holds
    everywhere; a unit's own range replaces it in that unit's subtree (the nearest one wins)."""

    indicator = models.ForeignKey(
        Indicator, on_delete=models.CASCADE, related_name="plausible_ranges", verbose_name=_("indicator")
    )
    unit = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("unit"),
        help_text=_("empty: everywhere"),
    )
    impossible_below = models.DecimalField(
        _("impossible below"), max_digits=20, decimal_places=4, null=True, blank=True
    )
    impossible_above = models.DecimalField(
        _("impossible above"), max_digits=20, decimal_places=4, null=True, blank=True
    )
    shift_above = models.DecimalField(
        _("implausible above, per shift"), max_digits=20, decimal_places=4, null=True, blank=True
    )
    day_above = models.DecimalField(
        _("implausible above, per day"), max_digits=20, decimal_places=4, null=True, blank=True
    )
    best_multiple = models.DecimalField(
        _("implausible above this multiple of the best of the last 90 days"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("plausible range")
        verbose_name_plural = _("plausible ranges")
        constraints = [
            models.UniqueConstraint(
                fields=["indicator"], condition=Q(unit__isnull=True), name="production_plausible_everywhere"
            ),
            models.UniqueConstraint(fields=["indicator", "unit"], name="production_plausible_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.indicator_id}@{self.unit_id or '*'}"


class PlanVersion(models.Model):
    """One approved version of a unit's annual plan. The version in force on a date is the one with the
    latest `effective_from` on or before it; each day's plan comes from the version in force that day."""

    class Kind(models.TextChoices):
        ORIGINAL = "original", _("original")
        ADJUSTED = "adjusted", _("adjusted")

    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="plan_versions"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.ORIGINAL)
    effective_from = models.DateField(_("in force from"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    approved_at = models.DateTimeField(_("approved at"), auto_now_add=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("plan version")
        verbose_name_plural = _("plan versions")
        ordering = ["unit", "year", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "year", "effective_from"], name="%(app_label)s_%(class)s_one_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.year} {self.kind} from {self.effective_from}"


class PlanMonth(models.Model):
    """A version's figure for one indicator and month (base unit)."""

    version = models.ForeignKey(PlanVersion, on_delete=models.CASCADE, related_name="months")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    month = models.PositiveSmallIntegerField()
    value = models.DecimalField(max_digits=20, decimal_places=4)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "indicator", "month"], name="%(app_label)s_%(class)s_unique"
            ),
            models.CheckConstraint(
                condition=Q(month__gte=1, month__lte=12), name="%(app_label)s_%(class)s_month"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="%(app_label)s_%(class)s_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.version_id} {self.indicator_id} {self.month}: {self.value}"


class Actual(models.Model):
    """A figure reported for one unit, indicator, production day and shift (0 = the whole day)."""

    class Source(models.TextChoices):
        WEB = "web", _("web form")
        API = "api", _("API")
        XLSX = "xlsx", _("Excel import")
        DEMO = "demo", _("demo data")

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="actuals")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("production day"))
    shift = models.PositiveSmallIntegerField(_("shift"), default=0)
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=4)
    source = models.CharField(max_length=8, choices=Source.choices)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    entered_at = models.DateTimeField(auto_now=True)
    is_late = models.BooleanField(_("late"), default=False)

    class Meta:
        verbose_name = _("reported figure")
        verbose_name_plural = _("reported figures")
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "indicator", "day", "shift"], name="%(app_label)s_%(class)s_one_per_shift"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="%(app_label)s_%(class)s_not_negative"),
            models.CheckConstraint(condition=Q(shift__lte=4), name="%(app_label)s_%(class)s_shift_range"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.indicator_id} {self.day} ca {self.shift}: {self.value}"


class DailyTotal(models.Model):
    """The day's total per reporting unit and indicator, kept by the actuals service in the same
    transaction. Roll-ups read these (one row per unit-day, not per shift) — see production.selectors."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    value = models.DecimalField(max_digits=20, decimal_places=4)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "indicator", "day"], name="%(app_label)s_%(class)s_unique"
            ),
        ]
        # Covering: every roll-up reads (indicator, day range) → unit and value from the index alone.
        indexes = [
            models.Index(fields=["indicator", "day", "unit", "value"], name="production_daily_covering")
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.indicator_id} {self.day}: {self.value}"


class MonthlyTotal(models.Model):
    """A unit's month in one row, kept with DailyTotal by services.refresh_monthly_totals: a year-to-date
    figure of any aggregation reads twelve rows per unit instead of 365."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # first day of the month
    value_sum = models.DecimalField(max_digits=22, decimal_places=4)
    day_count = models.PositiveIntegerField()
    # For "last value" indicators: the month's last reported day and its value.
    last_day = models.DateField(null=True, blank=True)
    last_value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    # For weighted averages: Σ(value × weight) and Σ weight over the month's days.
    weighted_sum = models.DecimalField(max_digits=30, decimal_places=8, null=True, blank=True)
    weight_sum = models.DecimalField(max_digits=22, decimal_places=4, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "indicator", "month"], name="%(app_label)s_%(class)s_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["indicator", "month", "unit", "value_sum", "day_count"],
                name="production_monthly_covering",
            )
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.indicator_id} {self.month:%m/%Y}: {self.value_sum}"


class LostTimeCategory(models.TextChoices):
    """Why production was lost, in the spirit of the GMG time-usage model."""

    GEOLOGY = "geology", _("Geology")
    EQUIPMENT = "equipment", _("Equipment breakdown")
    POWER = "power", _("Power supply")
    VENTILATION_GAS = "ventilation_gas", _("Ventilation / gas stop")
    WATER = "water", _("Water")
    ROOF = "roof", _("Roof / support")
    TRANSPORT = "transport", _("Transport")
    LABOUR = "labour", _("Labour")
    WEATHER = "weather", _("Weather")
    PLANNED_MAINTENANCE = "planned_maintenance", _("Planned maintenance")
    OTHER = "other", _("Other")


class Deviation(models.Model):
    """Why a unit missed its plan on a day (and shift), with lost hours."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="deviations")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("production day"))
    shift = models.PositiveSmallIntegerField(_("shift"), default=0)
    category = models.CharField(_("reason"), max_length=24, choices=LostTimeCategory.choices)
    lost_hours = models.DecimalField(_("lost hours"), max_digits=6, decimal_places=2)
    shortfall = models.DecimalField(_("shortfall"), max_digits=20, decimal_places=4, default=0)
    note = models.CharField(_("note"), max_length=500, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    entered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("deviation")
        verbose_name_plural = _("deviations")
        ordering = ["-day", "unit"]
        constraints = [
            models.CheckConstraint(
                condition=Q(lost_hours__gte=0, lost_hours__lte=24), name="%(app_label)s_%(class)s_hours"
            ),
            models.CheckConstraint(condition=Q(shortfall__gte=0), name="%(app_label)s_%(class)s_shortfall"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.day} {self.category} {self.lost_hours} h"


class PeriodLock(models.Model):
    """A month closed by a planner for a unit's subtree: changing its figures needs the planner role."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="period_locks")
    month = models.DateField(_("month"), help_text=_("first day of the month"))
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    locked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "month"], name="%(app_label)s_%(class)s_unique"),
            models.CheckConstraint(condition=Q(month__day=1), name="%(app_label)s_%(class)s_first_of_month"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.month:%m/%Y} locked"
