"""Bulk sensor registry import from CSV or XLSX: all rows or none, every bad cell named by row and column.

Columns (header row, any order; Vietnamese or English header names): code, kind, position, location, gateway,
and optionally name, period_s, range_min, range_max, calibration_due (dd/mm/yyyy, ISO or an Excel date),
in_service (1/0, yes/no, có/không), sparkplug_metric. A code that exists is updated (audited), a new one created.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.db import transaction
from openpyxl import load_workbook

from headframe.core.errors import ErrorItem, ValidationFailed
from headframe.core.services import audited_update
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.telemetry.directory import directory
from headframe.telemetry.models import KIND_DEFAULTS, Gateway, Location, Sensor, SensorKind
from headframe.telemetry.services import sensor_create

HEADERS = {
    "code": "code",
    "mã": "code",
    "mã cảm biến": "code",
    "name": "name",
    "tên": "name",
    "kind": "kind",
    "loại": "kind",
    "position": "position",
    "vị trí": "position",
    "location": "location",
    "vị trí đo": "location",
    "gateway": "gateway",
    "trạm": "gateway",
    "period_s": "period_s",
    "chu kỳ (s)": "period_s",
    "range_min": "range_min",
    "range_max": "range_max",
    "calibration_due": "calibration_due",
    "hạn hiệu chuẩn": "calibration_due",
    "in_service": "in_service",
    "đang dùng": "in_service",
    "sparkplug_metric": "sparkplug_metric",
}
REQUIRED = ("code", "kind", "position", "location", "gateway")
TRUE = {"1", "yes", "true", "có", "co", "x"}
FALSE = {"0", "no", "false", "không", "khong", ""}


def read_table(content: bytes, filename: str) -> tuple[str, list[tuple[int, dict]]]:
    """(sheet name, [(row number, {column: raw value})]) from a CSV or XLSX file."""
    if filename.lower().endswith(".xlsx"):
        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:
            raise ValidationFailed(f"not a readable .xlsx workbook: {exc}", loc=("file",)) from None
        sheet = book.worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        name = sheet.title
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationFailed("CSV must be UTF-8", loc=("file",)) from None
        rows = list(csv.reader(io.StringIO(text)))
        name = "csv"
    if not rows:
        raise ValidationFailed("the file is empty", loc=("file",))
    columns = []
    for index, header in enumerate(rows[0]):
        key = HEADERS.get(str(header or "").strip().lower())
        columns.append(key)
        if header and key is None:
            raise ValidationFailed(f"{name}!1 column {index + 1}: unknown column {header!r}", loc=("file",))
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ValidationFailed(f"{name}!1: missing column(s) {', '.join(missing)}", loc=("file",))
    out = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(v not in (None, "") for v in row):
            continue
        out.append((number, {c: v for c, v in zip(columns, row, strict=False) if c}))
    return name, out


def _float(value, label):
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip().replace(",", "."))
    except ValueError:
        raise ValueError(f"{label} is not a number: {value!r}") from None


def _date(value):
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date (dd/mm/yyyy): {value!r}")


def _fields(raw: dict, gateways: dict, positions: dict) -> dict:
    """Typed model fields from one row; raises (column, reason)."""
    fields: dict = {}
    code = str(raw.get("code") or "").strip()
    if not code:
        raise _Cell("code", "required")
    fields["code"] = code
    kind = str(raw.get("kind") or "").strip()
    if kind not in SensorKind.values:
        raise _Cell("kind", f"unknown kind {kind!r} (one of {', '.join(SensorKind.values)})")
    fields["kind"] = kind
    location = str(raw.get("location") or "").strip()
    if location not in Location.values:
        raise _Cell("location", f"unknown location {location!r}")
    fields["location"] = location
    gateway = gateways.get(str(raw.get("gateway") or "").strip())
    if gateway is None:
        raise _Cell("gateway", f"unknown gateway {raw.get('gateway')!r}")
    fields["gateway"] = gateway
    position = positions.get(str(raw.get("position") or "").strip())
    if position is None:
        raise _Cell("position", f"unknown work position {raw.get('position')!r}")
    if not position.path.startswith(gateway.site.path):
        raise _Cell("position", f"{position.code} is not at the gateway's site {gateway.site.code}")
    fields["position"] = position
    if raw.get("name") not in (None, ""):
        fields["name"] = str(raw["name"]).strip()
    uom, lo, hi = KIND_DEFAULTS[kind]
    fields["unit_of_measure"] = uom
    for column, default in (("range_min", lo), ("range_max", hi)):
        value = raw.get(column)
        try:
            fields[column] = default if value in (None, "") else _float(value, column)
        except ValueError as exc:
            raise _Cell(column, str(exc)) from None
    if fields["range_min"] >= fields["range_max"]:
        raise _Cell("range_max", "must be above range_min")
    if raw.get("period_s") not in (None, ""):
        try:
            period = int(_float(raw["period_s"], "period_s"))
        except ValueError as exc:
            raise _Cell("period_s", str(exc)) from None
        if period <= 0:
            raise _Cell("period_s", "must be a positive number of seconds")
        fields["period_s"] = period
    if raw.get("calibration_due") not in (None, ""):
        try:
            fields["calibration_due"] = _date(raw["calibration_due"])
        except ValueError as exc:
            raise _Cell("calibration_due", str(exc)) from None
    if "in_service" in raw:
        flag = str(raw["in_service"] if raw["in_service"] is not None else "").strip().lower()
        if flag not in TRUE | FALSE:
            raise _Cell("in_service", f"use 1/0, yes/no or có/không, not {raw['in_service']!r}")
        if flag in FALSE:
            raise _Cell(
                "in_service",
                "a sensor is taken out of service by a safety officer of its site, with a reason and an expiry "
                "(sensor page or API), never by an import",
            )
        fields["in_service"] = True
    if raw.get("sparkplug_metric") not in (None, ""):
        fields["sparkplug_metric"] = str(raw["sparkplug_metric"]).strip()
    return fields


class _Cell(Exception):
    def __init__(self, column: str, reason: str):
        super().__init__(reason)
        self.column, self.reason = column, reason


def sensors_import(*, actor, content: bytes, filename: str) -> dict:
    """Create or update every sensor in the file, or none: returns {"created": n, "updated": n}."""
    sheet, rows = read_table(content, filename)
    gateways = {g.code: g for g in Gateway.objects.select_related("site")}
    codes = {str(r.get("position") or "").strip() for _n, r in rows}
    positions = {u.code: u for u in Unit.objects.filter(code__in=codes, kind=UnitKind.POSITION)}
    scope = scope_for(actor)
    errors: list[ErrorItem] = []
    parsed: list[tuple[int, dict]] = []
    seen: dict[str, int] = {}
    for number, raw in rows:
        try:
            fields = _fields(raw, gateways, positions)
        except _Cell as cell:
            errors.append(
                ErrorItem(("file",), f"{sheet}!{number} column {cell.column}: {cell.reason}", "value_error")
            )
            continue
        if fields["code"] in seen:
            errors.append(
                ErrorItem(
                    ("file",),
                    f"{sheet}!{number} column code: duplicate of row {seen[fields['code']]}",
                    "duplicate",
                )
            )
            continue
        seen[fields["code"]] = number
        if not scope.allows(Perm.MANAGE, fields["gateway"].site.path):
            errors.append(
                ErrorItem(
                    ("file",),
                    f"{sheet}!{number} column gateway: you do not manage this site",
                    "permission_denied",
                )
            )
            continue
        parsed.append((number, fields))
    if errors:
        raise ValidationFailed(items=errors)
    created = updated = 0
    existing = {s.code: s for s in Sensor.objects.filter(code__in=seen).select_related("gateway__site")}
    with transaction.atomic():
        for number, fields in parsed:
            sensor = existing.get(fields["code"])
            loc = ("file", f"{sheet}!{number}")
            if sensor is None:
                sensor_create(actor=actor, loc=loc, **fields)
                created += 1
            elif audited_update(
                actor=actor, obj=sensor, changes=fields, unit_path=fields["gateway"].site.path, loc=loc
            ):
                updated += 1
    directory.invalidate()
    return {"created": created, "updated": updated}
