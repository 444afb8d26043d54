"""The organisation tree, bridge points, people, scoped roles and API tokens."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from headframe.org.roles import Role

code_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9_-]{0,39}$",
    _("Use 1-40 upper-case letters, digits, '-' or '_', starting with a letter or digit."),
    code="invalid_code",
)


class UnitKind(models.TextChoices):
    GROUP = "group", _("Group")
    COMPANY = "company", _("Company")
    SITE = "site", _("Mine / site")
    AREA = "area", _("Area / section")
    POSITION = "position", _("Work position")


class SiteType(models.TextChoices):
    UNDERGROUND = "underground", _("Underground mine")
    OPEN_PIT = "open_pit", _("Open-pit mine")
    PLANT = "plant", _("Coal preparation plant")
    PORT = "port", _("Port")


class PositionKind(models.TextChoices):
    LONGWALL_FACE = "longwall_face", _("Longwall face")
    DEVELOPMENT_HEADING = "development_heading", _("Development heading")
    PUMP_STATION = "pump_station", _("Pump station")
    MAIN_FAN = "main_fan", _("Main fan")
    SHAFT = "shaft", _("Shaft / incline")
    CONVEYOR = "conveyor", _("Conveyor")
    BENCH = "bench", _("Open-pit bench")
    PROCESSING_LINE = "processing_line", _("Processing line")
    BERTH = "berth", _("Berth / loading")
    OTHER = "other", _("Other")


# Which parent kinds a unit of each kind may hang under. Areas may nest (phân xưởng → tổ).
ALLOWED_PARENT_KINDS: dict[str, frozenset[str]] = {
    UnitKind.GROUP: frozenset(),
    UnitKind.COMPANY: frozenset({UnitKind.GROUP}),
    UnitKind.SITE: frozenset({UnitKind.COMPANY}),
    UnitKind.AREA: frozenset({UnitKind.SITE, UnitKind.AREA}),
    UnitKind.POSITION: frozenset({UnitKind.AREA, UnitKind.SITE}),
}


class Unit(models.Model):
    """One node of the tree: group, company, mine/site, area or work position.

    `path` is the materialised path of codes ("/GRP/CO1/M1/"), kept by org.services, so a subtree is one
    indexed prefix scan — the basis of every scope check and roll-up.
    """

    code = models.CharField(_("code"), max_length=40, unique=True, validators=[code_validator])
    name_vi = models.CharField(_("Vietnamese name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=UnitKind.choices)
    site_type = models.CharField(_("site type"), max_length=16, choices=SiteType.choices, blank=True)
    position_kind = models.CharField(
        _("work position kind"), max_length=24, choices=PositionKind.choices, blank=True
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("path"), max_length=512, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    valid_from = models.DateField(_("valid from"), default=timezone.localdate)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="site") | Q(site_type=""),
                name="%(app_label)s_%(class)s_site_type_only_on_sites",
            ),
            models.CheckConstraint(
                condition=~Q(kind="site") | ~Q(site_type=""), name="%(app_label)s_%(class)s_site_needs_type"
            ),
            models.CheckConstraint(
                condition=Q(kind="position") | Q(position_kind=""),
                name="%(app_label)s_%(class)s_position_kind_only_on_positions",
            ),
            models.CheckConstraint(
                condition=Q(kind="group", parent__isnull=True) | Q(parent__isnull=False) & ~Q(kind="group"),
                name="%(app_label)s_%(class)s_only_groups_are_roots",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    @property
    def name(self) -> str:
        if (get_language() or "vi").startswith("en") and self.name_en:
            return self.name_en
        return self.name_vi

    def is_within(self, path: str) -> bool:
        return self.path.startswith(path)


class WorkPositionManager(models.Manager["WorkPosition"]):
    def get_queryset(self) -> models.QuerySet[WorkPosition]:
        return super().get_queryset().filter(kind=UnitKind.POSITION)


class WorkPosition(Unit):
    """Work positions (faces, headings, pump stations…) are the leaves of the unit tree."""

    objects: ClassVar[WorkPositionManager] = WorkPositionManager()

    class Meta:
        proxy = True
        verbose_name = _("work position")
        verbose_name_plural = _("work positions")


class UnitParentPeriod(models.Model):
    """Where a unit hung in the tree and from when: moving a unit closes one period and opens the next,
    so figures can be rolled up as the tree stood on any date."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="parent_periods")
    parent = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)  # exclusive; null = current

    class Meta:
        ordering = ["unit", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit"],
                condition=Q(valid_to__isnull=True),
                name="%(app_label)s_%(class)s_one_current",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
                name="%(app_label)s_%(class)s_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} under {self.parent_id} from {self.valid_from}"


class BridgePoint(models.Model):
    """A video-conference site (điểm cầu) from which a unit joins the briefings."""

    code = models.CharField(_("code"), max_length=40, unique=True, validators=[code_validator])
    name_vi = models.CharField(_("Vietnamese name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="bridge_points"
    )
    location = models.CharField(_("location"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("bridge point")
        verbose_name_plural = _("bridge points")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.name_vi}"


class Person(models.Model):
    """Someone who works in the group, optionally with a login."""

    employee_no = models.CharField(_("employee number"), max_length=32, unique=True)
    full_name = models.CharField(_("full name"), max_length=200)
    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="people")
    job_title = models.CharField(_("job title"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["full_name"]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.employee_no})"


class RoleAssignment(models.Model):
    """A role granted to a user on a unit; it covers the unit's whole subtree."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments"
    )
    role = models.CharField(_("role"), max_length=24, choices=Role.choices)
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="role_assignments"
    )
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "unit"], name="%(app_label)s_%(class)s_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.role} @ {self.unit_id}"


class ApiToken(models.Model):
    """A bearer token for scripts and gateways. Only a SHA-256 digest is stored: the token itself is
    shown once, when created. Tokens are high-entropy, so a fast hash is enough (no password stretching)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id})"


class LoginThrottle(models.Model):
    """Failed log-ins counted per user name or per client address, in the database so every worker shares
    them. After too many failures within the window the key is locked until `locked_until` (org.login)."""

    class Kind(models.TextChoices):
        ACCOUNT = "account", _("user name")
        ADDRESS = "address", _("address")
        PAIR = "pair", _("user name at an address")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    key = models.CharField(_("user name or address"), max_length=150)  # a pair: "<address> <user name>"
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    failures = models.PositiveIntegerField(_("failures"), default=0)
    window_started_at = models.DateTimeField(_("counting since"))
    last_failure_at = models.DateTimeField(_("last failure"))
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)

    class Meta:
        verbose_name = _("log-in lock")
        verbose_name_plural = _("log-in locks")
        ordering = ["-last_failure_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="%(app_label)s_%(class)s_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"

    @property
    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()
