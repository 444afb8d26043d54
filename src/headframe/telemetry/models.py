"""Safety telemetry: gateways, sensors, limits, readings, live state, quarantine and the alarm engine's state.

Readings are a narrow append-only table keyed (sensor, ts) with ts in epoch milliseconds UTC: the key is the
time-range index, and re-sending a reading can never store it twice. Everything the alarm engine needs to
survive a restart (pending on-delays, active/acked/latched state, shelving) lives in AlarmCondition rows.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from headframe.core.text import hidden_character
from headframe.org.models import Unit, code_validator


class SensorKind(models.TextChoices):
    CH4 = "ch4_pct", _("Methane CH₄ (%)")
    CO = "co_ppm", _("Carbon monoxide CO (ppm)")
    O2 = "o2_pct", _("Oxygen O₂ (%)")
    CO2 = "co2_pct", _("Carbon dioxide CO₂ (%)")
    AIR_VELOCITY = "air_velocity_ms", _("Air velocity (m/s)")
    TEMPERATURE = "temperature_c", _("Temperature (°C)")
    WATER_LEVEL = "water_level_m", _("Water level (m)")
    PUMP_RUNNING = "pump_running", _("Pump running (1/0)")
    FAN_RUNNING = "fan_running", _("Fan running (1/0)")


# Unit of measure and the physical range a healthy transmitter of each kind can report (defaults for new sensors).
KIND_DEFAULTS: dict[str, tuple[str, float, float]] = {
    SensorKind.CH4: ("%", 0.0, 100.0),
    SensorKind.CO: ("ppm", 0.0, 1000.0),
    SensorKind.O2: ("%", 0.0, 25.0),
    SensorKind.CO2: ("%", 0.0, 10.0),
    SensorKind.AIR_VELOCITY: ("m/s", 0.0, 30.0),
    SensorKind.TEMPERATURE: ("°C", -20.0, 100.0),
    SensorKind.WATER_LEVEL: ("m", 0.0, 50.0),
    SensorKind.PUMP_RUNNING: ("", 0.0, 1.0),
    SensorKind.FAN_RUNNING: ("", 0.0, 1.0),
}

GAS_KINDS = frozenset({SensorKind.CH4, SensorKind.CO, SensorKind.O2, SensorKind.CO2})
# Sensors that report a state, not a measurement: the only ones whose readings may be JSON true/false.
ON_OFF_KINDS = frozenset({SensorKind.PUMP_RUNNING, SensorKind.FAN_RUNNING})


class Location(models.TextChoices):
    """Where in the ventilation circuit a sensor sits; limits differ by location (QCVN 01:2011/BCT)."""

    FACE_RETURN = "face_return", _("Working face return air")
    DEVELOPMENT_HEADING = "development_heading", _("Development heading")
    GENERAL_RETURN = "general_return", _("General return")
    INTAKE = "intake", _("Intake air")
    LOCAL_ACCUMULATION = "local_accumulation", _("Local accumulation")
    ROADWAY = "roadway", _("Roadway")
    SHAFT = "shaft", _("Shaft")
    VENTILATION_SHAFT = "ventilation_shaft", _("Ventilation shaft")
    BLEEDER = "bleeder", _("Bleeder entry")
    WORKPLACE = "workplace", _("Workplace")
    ELECTRICAL_EQUIPMENT = "electrical_equipment", _("At electrical equipment")
    SUMP = "sump", _("Sump / pump station")
    FAN_HOUSE = "fan_house", _("Main fan house")


class Gateway(models.Model):
    """A data concentrator at a mine (PLC, edge node). Sparkplug gateways are identified by group/edge node."""

    code = models.CharField(_("code"), max_length=60, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200, blank=True)
    site = models.ForeignKey(Unit, verbose_name=_("site"), on_delete=models.PROTECT, related_name="gateways")
    sparkplug_group = models.CharField(_("Sparkplug group id"), max_length=60, blank=True)
    sparkplug_node = models.CharField(_("Sparkplug edge node id"), max_length=60, blank=True)
    online = models.BooleanField(_("online"), default=True)
    last_seen = models.DateTimeField(_("last seen"), null=True, blank=True)
    last_seq = models.BigIntegerField(_("last sequence number"), null=True, blank=True)
    readings_stored = models.BigIntegerField(_("readings stored"), default=0)
    messages = models.BigIntegerField(_("messages"), default=0)
    timeout_s = models.PositiveIntegerField(
        _("silence timeout (s)"),
        null=True,
        blank=True,
        help_text=_("Silent this long, the gateway is lost. Blank: 2 × the shortest period of its sensors."),
    )

    class Meta:
        verbose_name = _("gateway")
        verbose_name_plural = _("gateways")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        """A gateway moved to another site would take its sensors' alarms (and that site's limits) with it
        while they stay at positions of the old site: refused while any sensor sits outside the new site."""
        _refuse_hidden_characters(self, ("name", "sparkplug_group", "sparkplug_node"))
        if self.pk and self.site_id:
            outside = (
                self.sensors.exclude(position__path__startswith=self.site.path)
                .order_by("code")
                .values_list("code", flat=True)
            )
            if outside.exists():
                codes = ", ".join(list(outside[:5]))
                message = _(
                    "Sensors of this gateway are at positions of another site (%(codes)s): move them first."
                )
                raise ValidationError(
                    {"site": ValidationError(message % {"codes": codes}, code="sensors_elsewhere")}
                )


def _refuse_hidden_characters(obj, names: tuple[str, ...]) -> None:
    """Names shown to dispatchers hold no NUL, bidi override or zero-width character (core.text), whatever
    door they come through (service, import, admin form)."""
    errors = {}
    for name in names:
        found = hidden_character(getattr(obj, name) or "")
        if found:
            message = _("This text contains an invisible or control character (%(char)s); retype it.") % {
                "char": found
            }
            errors[name] = ValidationError(message, code="hidden_character")
    if errors:
        raise ValidationError(errors)


class Sensor(models.Model):
    code = models.CharField(_("code"), max_length=80, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=24, choices=SensorKind.choices)
    unit_of_measure = models.CharField(_("unit of measure"), max_length=16, blank=True)
    range_min = models.FloatField(_("physical range min"))
    range_max = models.FloatField(_("physical range max"))
    position = models.ForeignKey(
        Unit, verbose_name=_("work position"), on_delete=models.PROTECT, related_name="sensors"
    )
    location = models.CharField(_("location"), max_length=24, choices=Location.choices)
    gateway = models.ForeignKey(
        Gateway, verbose_name=_("gateway"), on_delete=models.PROTECT, related_name="sensors"
    )
    sparkplug_metric = models.CharField(_("Sparkplug metric name"), max_length=120, blank=True)
    period_s = models.PositiveIntegerField(_("expected reporting period (s)"), default=10)
    calibration_due = models.DateField(_("calibration due"), null=True, blank=True)
    in_service = models.BooleanField(_("in service"), default=True)
    out_of_service_until = models.DateTimeField(_("out of service until"), null=True, blank=True)
    out_of_service_reason = models.TextField(_("why out of service"), blank=True)
    out_of_service_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("sensor")
        verbose_name_plural = _("sensors")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(range_min__lt=models.F("range_max")), name="telemetry_sensor_range_ordered"
            ),
            models.CheckConstraint(condition=Q(period_s__gt=0), name="telemetry_sensor_period_positive"),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        """A sensor sits at a work position of its gateway's site: never at another site's (another company's)
        position, whatever door the change comes through (service, import, admin form)."""
        _refuse_hidden_characters(self, ("name", "sparkplug_metric"))
        if self.gateway_id and self.position_id:
            site = self.gateway.site
            if not self.position.path.startswith(site.path):
                message = _("This work position is not at the gateway's site %(site)s.") % {"site": site.code}
                raise ValidationError({"position": ValidationError(message, code="position_not_at_site")})


class LimitProfile(models.Model):
    """A set of default limits (a regulation). Each site uses one profile, with audited overrides."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name_vi = models.CharField(_("Vietnamese name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    source = models.TextField(_("source"), blank=True)
    is_default = models.BooleanField(_("default profile"), default=False)
    escalate_after_s = models.PositiveIntegerField(
        _("escalate an unacknowledged urgent alarm after (s)"), default=120
    )

    class Meta:
        verbose_name = _("limit profile")
        verbose_name_plural = _("limit profiles")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Direction(models.TextChoices):
    HIGH = "high", _("high (value ≥ limit)")
    LOW = "low", _("low (value ≤ limit)")
    RISE = "rise", _("rate of rise (increase over the window ≥ limit)")


class Priority(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


PRIORITY_RANK = {Priority.URGENT: 4, Priority.HIGH: 3, Priority.MEDIUM: 2, Priority.LOW: 1}


class Limit(models.Model):
    """One regulatory limit: for a sensor kind at a location, a threshold, and what crossing it means."""

    profile = models.ForeignKey(LimitProfile, on_delete=models.CASCADE, related_name="limits")
    code = models.CharField(_("code"), max_length=60)
    kind = models.CharField(_("sensor kind"), max_length=24, choices=SensorKind.choices)
    location = models.CharField(
        _("location"), max_length=24, blank=True, help_text=_("blank or 'workplace': every location")
    )
    direction = models.CharField(_("direction"), max_length=4, choices=Direction.choices)
    threshold = models.FloatField(_("threshold"))
    deadband = models.FloatField(_("deadband"), default=0.0)
    on_delay_s = models.PositiveIntegerField(_("on-delay (s)"), default=0)
    off_delay_s = models.PositiveIntegerField(_("off-delay (s)"), default=0)
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices)
    latching = models.BooleanField(_("latching (trip)"), default=False)
    action_vi = models.CharField(_("action (Vietnamese)"), max_length=300, blank=True)
    clause = models.CharField(_("clause"), max_length=200, blank=True)
    confirmed = models.BooleanField(_("confirmed in the regulation text"), default=False)
    source = models.TextField(_("source read"), blank=True)
    note = models.TextField(_("note"), blank=True)
    rate_window_s = models.PositiveIntegerField(
        _("rate-of-rise window (s)"), default=0, help_text=_("Only for a rate-of-rise limit.")
    )
    no_operator_override = models.BooleanField(
        _("no operator override"),
        default=False,
        help_text=_("Neither shelved nor suppressed from any console or API (e.g. a methane trip)."),
    )
    enabled_by_default = models.BooleanField(
        _("applies unless a site disables it"),
        default=True,
        help_text=_(
            "Off for limits that apply only to some mines (e.g. methane category III); a site enables them."
        ),
    )

    class Meta:
        verbose_name = _("limit")
        verbose_name_plural = _("limits")
        ordering = ["profile", "kind", "code"]
        constraints = [
            models.UniqueConstraint(fields=["profile", "code"], name="telemetry_limit_unique_code"),
            models.CheckConstraint(condition=Q(deadband__gte=0), name="telemetry_limit_deadband_nonneg"),
        ]

    def __str__(self) -> str:
        sign = "≥" if self.direction == Direction.HIGH else "≤"
        return f"{self.profile.code}:{self.code} ({self.kind} {sign} {self.threshold})"


class SiteLimitSetting(models.Model):
    """Which profile a site follows, and site-specific overrides of individual limits (audited)."""

    site = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="limit_settings")
    limit = models.ForeignKey(Limit, on_delete=models.CASCADE, related_name="site_settings")
    threshold = models.FloatField(_("threshold"), null=True, blank=True)
    deadband = models.FloatField(_("deadband"), null=True, blank=True)
    on_delay_s = models.PositiveIntegerField(_("on-delay (s)"), null=True, blank=True)
    off_delay_s = models.PositiveIntegerField(_("off-delay (s)"), null=True, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    reason = models.TextField(_("reason"))

    class Meta:
        verbose_name = _("site limit override")
        verbose_name_plural = _("site limit overrides")
        constraints = [
            models.UniqueConstraint(fields=["site", "limit"], name="telemetry_site_limit_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.site.code}:{self.limit.code}"


class Reading(models.Model):
    """One stored measurement. Append-only; (sensor, ts) is both the key and the time-range index."""

    pk = models.CompositePrimaryKey("sensor_id", "ts")
    sensor = models.ForeignKey(Sensor, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False)
    ts = models.BigIntegerField(_("time (epoch ms, UTC)"))
    value = models.FloatField(_("value"))

    class Meta:
        verbose_name = _("reading")
        verbose_name_plural = _("readings")

    def __str__(self) -> str:
        return f"{self.sensor_id}@{self.ts}={self.value}"


class Step(models.TextChoices):
    MINUTE = "1m", _("1 minute")
    HOUR = "1h", _("1 hour")


STEP_MS = {Step.MINUTE: 60_000, Step.HOUR: 3_600_000}


class ReadingAggregate(models.Model):
    """min/max/sum/count/last per sensor and 1-minute or 1-hour bucket, maintained on ingest."""

    pk = models.CompositePrimaryKey("sensor_id", "step", "bucket")
    sensor = models.ForeignKey(Sensor, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False)
    step = models.CharField(max_length=2, choices=Step.choices)
    bucket = models.BigIntegerField()  # bucket start, epoch ms
    min = models.FloatField()
    max = models.FloatField()
    sum = models.FloatField()
    count = models.IntegerField()
    last_ts = models.BigIntegerField()
    last = models.FloatField()

    class Meta:
        verbose_name = _("reading aggregate")
        verbose_name_plural = _("reading aggregates")

    def __str__(self) -> str:
        return f"{self.sensor_id}/{self.step}@{self.bucket}"


class SensorState(models.Model):
    """Live state: the newest reading per sensor. Historical or out-of-order values never move it back."""

    sensor = models.OneToOneField(Sensor, on_delete=models.CASCADE, primary_key=True, related_name="state")
    last_ts = models.BigIntegerField(null=True)  # newest live reading
    last_value = models.FloatField(null=True)
    max_ts = models.BigIntegerField(null=True)  # newest stored reading, historical ones included
    online = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("sensor state")
        verbose_name_plural = _("sensor states")

    def __str__(self) -> str:
        return f"{self.sensor_id}: {self.last_value} @ {self.last_ts}"


class QuarantineReason(models.TextChoices):
    UNKNOWN_SENSOR = "unknown_sensor", _("unknown sensor")
    WRONG_GATEWAY = "wrong_gateway", _("sensor belongs to another gateway")
    OUT_OF_RANGE = "out_of_range", _("value outside the physical range")
    NOT_A_NUMBER = "not_a_number", _("value is not a finite number")
    BAD_TIMESTAMP = "bad_timestamp", _("timestamp cannot be read")
    FUTURE = "future", _("timestamp in the future")
    TOO_OLD = "too_old", _("timestamp too old")
    CONFLICT = "conflict", _("same sensor and time already stored with another value")
    MALFORMED = "malformed", _("message cannot be parsed")
    # A late reading that could not be compared with the stored history (the time-series store was down): stored
    # again it might overwrite another value; kept here to be sent again once the store is back.
    UNCHECKED = "unchecked", _("could not be checked: time-series store down")


class Quarantine(models.Model):
    """Readings and messages that were refused, kept as received with the reason: nothing is silently dropped."""

    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    gateway_code = models.CharField(max_length=120, blank=True, db_index=True)
    sensor_code = models.CharField(max_length=120, blank=True)
    ts_raw = models.CharField(max_length=64, blank=True)
    value_raw = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=20, choices=QuarantineReason.choices)
    detail = models.TextField(blank=True)
    channel = models.CharField(max_length=12, blank=True)

    class Meta:
        verbose_name = _("quarantined reading")
        verbose_name_plural = _("quarantined readings")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.gateway_code}/{self.sensor_code}: {self.reason}"


class GatewayCounter(models.Model):
    """Per gateway and outcome (stored, duplicate, out_of_order or a quarantine reason): how many readings."""

    gateway_code = models.CharField(max_length=120)
    outcome = models.CharField(max_length=20)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["gateway_code", "outcome"], name="telemetry_gateway_counter_key")
        ]

    def __str__(self) -> str:
        return f"{self.gateway_code}/{self.outcome}={self.count}"


class AlarmState(models.TextChoices):
    """ISA-18.2 alarm states (OPC UA Part 9 names in the comments)."""

    NORMAL = "normal", _("Normal")
    ACTIVE_UNACKED = "active_unacked", _("Active, unacknowledged")  # ActiveState=True, AckedState=False
    ACTIVE_ACKED = "active_acked", _("Active, acknowledged")  # ActiveState=True, AckedState=True
    RETURNED_UNACKED = "returned_unacked", _("Returned to normal, unacknowledged")
    LATCHED = "latched", _("Latched, reset needed")
    SHELVED = "shelved", _("Shelved")  # ShelvingState
    SUPPRESSED = "suppressed", _("Suppressed")  # SuppressedState
    OUT_OF_SERVICE = "out_of_service", _("Out of service")  # OutOfServiceState


STALE_LIMIT = "stale"  # the condition code of the "no data" alarm every sensor has
OVER_RANGE_LIMIT = "over_range"  # a value above the head's range: at least the highest trip (fail safe)
FAULT_LIMIT = "sensor_fault"  # below range, not a number: the sensor cannot be trusted
GATEWAY_LOST_LIMIT = "gateway_lost"  # the one condition of a gateway: NDEATH or silent past its timeout
# A gateway's sensors registered but never heard from past their due time (3 periods after registration): ONE
# condition per gateway, not one stale alarm per sensor — a sensor's own stale alarm starts with its first reading.
NEVER_REPORTED_LIMIT = "never_reported"


class AlarmCondition(models.Model):
    """One condition per sensor and limit (plus one "stale" per sensor). Its row is the alarm's whole state.

    `version` is bumped on every change; writers update WHERE version = what they read, so two ingest
    processes evaluating the same sensor can never both raise the alarm.
    """

    sensor = models.ForeignKey(Sensor, null=True, on_delete=models.CASCADE, related_name="conditions")
    gateway = models.ForeignKey(Gateway, null=True, on_delete=models.CASCADE, related_name="conditions")
    # A condition another part of the system reports (telemetry.services.external): its site and a subject
    # string of the reporter's ("presence:42"), instead of a sensor or a gateway.
    site = models.ForeignKey(Unit, null=True, on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(max_length=120, blank=True)
    limit_code = models.CharField(max_length=60)
    version = models.BigIntegerField(default=0)
    active = models.BooleanField(default=False)  # ActiveState
    acked = models.BooleanField(default=True)  # AckedState
    latched = models.BooleanField(default=False)
    pending_since = models.BigIntegerField(null=True)  # on-delay running since (epoch ms of the reading)
    clearing_since = models.BigIntegerField(null=True)  # off-delay running since
    last_eval_ts = models.BigIntegerField(null=True)
    last_value = models.FloatField(null=True)
    active_since = models.DateTimeField(null=True)
    shelved_until = models.DateTimeField(null=True)
    shelved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    shelve_reason = models.TextField(blank=True)
    suppressed = models.BooleanField(default=False)
    suppressed_by = models.CharField(max_length=200, blank=True)  # the design rule, e.g. "gateway_lost:GW-1"
    current_alarm = models.ForeignKey("Alarm", null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sensor", "limit_code"], name="telemetry_condition_unique"),
            models.UniqueConstraint(
                fields=["gateway", "limit_code"],
                condition=Q(gateway__isnull=False),
                name="telemetry_condition_gateway_unique",
            ),
            models.UniqueConstraint(
                fields=["site", "subject", "limit_code"],
                condition=Q(site__isnull=False),
                name="telemetry_condition_external_unique",
            ),
            # Exactly one subject: a sensor, a gateway, or a site and a subject string.
            models.CheckConstraint(
                condition=Q(sensor__isnull=False, gateway__isnull=True, site__isnull=True, subject="")
                | Q(sensor__isnull=True, gateway__isnull=False, site__isnull=True, subject="")
                | (Q(sensor__isnull=True, gateway__isnull=True, site__isnull=False) & ~Q(subject="")),
                name="telemetry_alarmcondition_one_subject",
            ),
        ]
        indexes = [
            # Ingest reads only the conditions that are not idle; idle ones change only when a limit is crossed.
            models.Index(
                fields=["sensor"],
                condition=Q(active=True) | Q(acked=False) | Q(pending_since__isnull=False),
                name="telemetry_condition_busy",
            ),
        ]

    def __str__(self) -> str:
        if self.site_id is not None:
            return f"{self.subject}:{self.limit_code}"
        return f"{self.sensor_id or self.gateway_id}:{self.limit_code}"


class Alarm(models.Model):
    """One occurrence: raised when a condition becomes active, closed when it is back to normal and acked."""

    condition = models.ForeignKey(AlarmCondition, on_delete=models.PROTECT, related_name="alarms")
    sensor = models.ForeignKey(Sensor, null=True, on_delete=models.PROTECT, related_name="alarms")
    gateway = models.ForeignKey(Gateway, null=True, on_delete=models.PROTECT, related_name="alarms")
    site = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    site_path = models.CharField(max_length=512, db_index=True)
    subject = models.CharField(max_length=120, blank=True)  # an external condition's subject (else blank)
    limit_code = models.CharField(max_length=60)
    priority = models.CharField(max_length=8, choices=Priority.choices)
    threshold = models.FloatField(null=True)
    message = models.CharField(max_length=300)
    raised_at = models.DateTimeField(db_index=True)
    raised_value = models.FloatField(null=True)
    returned_at = models.DateTimeField(null=True)
    acked_at = models.DateTimeField(null=True)
    acked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    ack_comment = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True)
    escalated_level = models.PositiveSmallIntegerField(default=1)  # on-call level notified so far

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            # Exactly one open alarm per condition, whatever the concurrency.
            models.UniqueConstraint(
                fields=["condition"], condition=Q(closed_at__isnull=True), name="telemetry_one_open_alarm"
            ),
        ]
        indexes = [
            # The escalation scan: urgent alarms nobody has acknowledged yet (few at any time).
            models.Index(
                fields=["raised_at"],
                condition=Q(priority="urgent", acked_at__isnull=True, closed_at__isnull=True),
                name="telemetry_alarm_escalation",
            ),
        ]

    def __str__(self) -> str:
        who = self.sensor_id or self.gateway_id or self.subject
        return f"{who}:{self.limit_code}@{self.raised_at:%Y-%m-%d %H:%M:%S}"


class JournalEvent(models.TextChoices):
    RAISED = "raised", _("raised")
    RETURNED = "returned", _("returned to normal")
    ACKED = "acked", _("acknowledged")
    RESET = "reset", _("reset")
    CLOSED = "closed", _("closed")
    SHELVED = "shelved", _("shelved")
    UNSHELVED = "unshelved", _("unshelved")
    SUPPRESSED = "suppressed", _("suppressed")
    UNSUPPRESSED = "unsuppressed", _("unsuppressed")
    OUT_OF_SERVICE = "out_of_service", _("out of service")
    IN_SERVICE = "in_service", _("back in service")


class AlarmJournal(models.Model):
    """Every transition of every alarm, append-only; its id is the cursor live pages follow."""

    at = models.DateTimeField(db_index=True)
    condition = models.ForeignKey(AlarmCondition, on_delete=models.PROTECT, related_name="journal")
    alarm = models.ForeignKey(Alarm, null=True, on_delete=models.PROTECT, related_name="journal")
    site_path = models.CharField(max_length=512, db_index=True)
    event = models.CharField(max_length=16, choices=JournalEvent.choices)
    state = models.CharField(max_length=16, choices=AlarmState.choices)
    value = models.FloatField(null=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.event} {self.condition_id}"


class ReadingOutbox(models.Model):
    """Raw readings committed with live state and alarms but not yet shipped to an external time-series store
    (VictoriaMetrics). Written in the ingest transaction, drained by the shipper, read together with the store
    so a just-ingested reading is visible at once. Empty when the readings live in SQL (`Reading`)."""

    pk = models.CompositePrimaryKey("sensor_id", "ts")
    sensor = models.ForeignKey(Sensor, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False)
    ts = models.BigIntegerField(_("time (epoch ms, UTC)"))
    value = models.FloatField(_("value"))
    # When it was handed to the store (epoch ms); NULL while waiting. Kept a little longer after that, since the
    # store makes it searchable at once but writes it to disk only seconds later (outbox.KEEP_SHIPPED_MS).
    shipped_at = models.BigIntegerField(_("shipped at (epoch ms, UTC)"), null=True, blank=True)

    class Meta:
        verbose_name = _("reading waiting to be shipped")
        verbose_name_plural = _("readings waiting to be shipped")
        # The next batch to ship and the oldest waiting (shipped_at NULL, by ts), the rows shipped long enough ago
        # to remove (a shipped_at range): index lookups however long the outbox grew while the store was down.
        indexes = [models.Index(fields=["shipped_at", "ts"], name="telemetry_outbox_shipped_ts")]

    def __str__(self) -> str:
        return f"{self.sensor_id}@{self.ts}={self.value}"
