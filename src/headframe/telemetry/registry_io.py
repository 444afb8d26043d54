"""Bulk sensor registry import from CSV or XLSX: all rows or none, every bad cell named by row and column.

Columns (header row, any order; Vietnamese or English header names): code, kind, position, location, gateway,
and optionally name, period_s, range_min, range_max, calibration_due (dd/mm/yyyy, ISO or an Excel date),
in_service (1/0, yes/no, có/không), sparkplug_metric. A code that exists is updated (audited), a new one created.

Safe at any size a person can send: the file is refused before it is parsed when it passes the stated limits
(core.spreadsheets: bytes, unpacked size, rows, characters per cell — 413 naming the limit); workbooks are
parsed without XML entities. The whole file is checked first, outside any transaction (every permission on the
current and the new place of each sensor, every cell); only then is it written, with bulk statements in one
short transaction that first makes sure nothing it checked has changed meanwhile (409 if it has).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Iterator

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils.translation import override
from openpyxl.utils import get_column_letter

from headframe.core import spreadsheets
from headframe.core.audit import audit_entry, diff, snapshot
from headframe.core.errors import Conflict, ErrorItem, HeadframeError, TooLarge, ValidationFailed
from headframe.core.models import AuditEntry
from headframe.core.text import hidden_character
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.telemetry.directory import directory
from headframe.telemetry.models import KIND_DEFAULTS, Gateway, Location, Sensor, SensorKind, SensorState
from headframe.telemetry.selectors import plausible_code

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
TEXT_COLUMNS = ("code", "name", "sparkplug_metric")  # free text kept as typed: no hidden characters
MAX_ERRORS = 500  # cell errors listed in one answer; the rest are counted
BLANK_ROWS_PER_DATA_ROW = 5  # a sheet of blank rows is read up to this many per allowed data row, no further
CHUNK = 900  # codes per query (SQLite's bound on parameters)


def _cells(rows: Iterable, sheet: str) -> Iterator[tuple[int, tuple]]:
    """(row number, cells) of every non-blank row, each cell checked against the size limit; stops with a 413
    as soon as the file has more data rows than allowed (it is never read to its end)."""
    data = 0
    blank_budget = BLANK_ROWS_PER_DATA_ROW * spreadsheets.MAX_ROWS
    for number, row in enumerate(rows, start=1):
        if not any(v not in (None, "") for v in row):
            blank_budget -= 1
            if blank_budget < 0:
                raise TooLarge(
                    loc=("file",),
                    type="too_many_rows",
                    params={"sheet": sheet, "count": BLANK_ROWS_PER_DATA_ROW * spreadsheets.MAX_ROWS},
                    key="too_many_rows.blank",
                )
            continue
        if number > 1:
            data += 1
            spreadsheets.check_row_count(data, limit=spreadsheets.MAX_ROWS)
        for index, value in enumerate(row):
            spreadsheets.check_cell(
                value,
                where=f"{sheet}!{get_column_letter(index + 1)}{number}",
                limit=spreadsheets.MAX_CELL_CHARS,
            )
        yield number, tuple(row)


def _defused(exc: BaseException | None) -> bool:
    """defusedxml refused an entity or external reference somewhere in the exception's chain."""
    while exc is not None:
        if type(exc).__module__.startswith("defusedxml"):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _xlsx_rows(content: bytes) -> tuple[str, list[tuple[int, tuple]]]:
    book = spreadsheets.open_workbook(content)  # size, unpacked size and zip-bomb checks first
    try:
        sheet = book.worksheets[0]
        name = sheet.title
        return name, list(_cells(sheet.iter_rows(values_only=True), name))
    except HeadframeError:
        raise
    except Exception as exc:  # the sheet XML is read lazily: entities, XXE, broken XML surface only here
        if _defused(exc):
            raise ValidationFailed(
                loc=("file",), type="not_xlsx", params={}, key="not_xlsx.xml_entities"
            ) from None
        raise ValidationFailed(loc=("file",), type="not_xlsx", params={}, key="not_xlsx.unreadable") from None
    finally:
        book.close()


def _csv_rows(content: bytes) -> tuple[str, list[tuple[int, tuple]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(loc=("file",), type="not_utf8", params={}, key="not_utf8.csv") from None
    try:
        return "csv", list(_cells(csv.reader(io.StringIO(text)), "csv"))
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):  # far past the cell limit: Python's own csv bound
            raise TooLarge(
                loc=("file",),
                type="cell_too_large",
                params={"limit": spreadsheets.MAX_CELL_CHARS},
                key="cell_too_large.csv",
            ) from None
        raise ValidationFailed(
            loc=("file",), type="not_csv", params={"error": str(exc)}, key="not_csv.unreadable"
        ) from None


def read_table(content: bytes, filename: str) -> tuple[str, list[tuple[int, dict]]]:
    """(sheet name, [(row number, {column: raw value})]) from a CSV or XLSX file, within the stated limits."""
    spreadsheets.check_upload_size(content, limit=spreadsheets.MAX_UPLOAD_BYTES)
    if filename.lower().endswith(".xlsx"):
        name, rows = _xlsx_rows(content)
    else:
        name, rows = _csv_rows(content)
    if not rows or rows[0][0] != 1:
        raise ValidationFailed(
            loc=("file",),
            params={"sheet": name},
            key="value_error.empty_header" if rows else "value_error.empty_file",
        )
    columns = []
    for index, header in enumerate(rows[0][1]):
        key = HEADERS.get(str(header or "").strip().lower())
        columns.append(key)
        if header and key is None:
            raise ValidationFailed(
                loc=("file",),
                params={"sheet": name, "index": str(index + 1), "header": repr(header)},
                key="value_error.unknown_header",
            )
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ValidationFailed(
            loc=("file",), params={"sheet": name, "columns": missing}, key="value_error.missing_columns"
        )
    out = []
    for number, row in rows[1:]:
        out.append((number, {c: v for c, v in zip(columns, row, strict=False) if c}))
    return name, out


_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?")


def _float(value, label):
    """A number as typed in a sheet: an Excel number, or ASCII digits with a decimal point or comma. Not
    "١٢٣" nor "1_000" (which float() would accept), not TRUE, not infinite. Raises _Cell(label, …)."""
    if isinstance(value, bool):
        raise _Cell(label, "value_error.not_a_number_cell", {"value": repr(value)})
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip()
        if not _NUMBER.fullmatch(text):
            raise _Cell(label, "value_error.not_a_number_cell", {"value": repr(value)})
        number = float(text.replace(",", "."))
    if not math.isfinite(number):
        raise _Cell(label, "value_error.not_finite_cell", {"value": repr(value)})
    return number


def _date(value, column):
    """A day as typed in a sheet (dd/mm/yyyy or ISO); raises _Cell(column, …)."""
    day = None
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        text = str(value).strip()
        if text.isascii():  # strptime would read other scripts' digits too
            for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
                try:
                    day = dt.datetime.strptime(text, fmt).date()
                    break
                except ValueError:
                    continue
    if day is None:
        raise _Cell(column, "value_error.date_cell", {"value": repr(value)})
    if not 1970 <= day.year < 2200:
        raise _Cell(column, "value_error.date_range_cell", {"value": repr(value)})
    return day


class _Cell(Exception):
    """A refused cell: `key` is its catalogue message (telemetry.messages, "<sheet>!<row> column <column>: …"),
    `params` the values beyond sheet, row and column."""

    def __init__(self, column: str, key: str, params: dict | None = None, type: str = "value_error"):
        super().__init__(key)
        self.column, self.key, self.params, self.type = column, key, params or {}, type


def _fields(raw: dict, gateways: dict, positions: dict) -> dict:
    """Typed model fields from one row; raises _Cell(column, reason). `gateways` and `positions` hold only
    what the importing user may see: anything else is unknown, exactly like a code that does not exist."""
    for column in TEXT_COLUMNS:
        found = hidden_character(str(raw.get(column) or ""))
        if found:
            raise _Cell(column, "hidden_character.cell", {"character": found}, "hidden_character")
    fields: dict = {}
    code = str(raw.get("code") or "").strip()
    if not code:
        raise _Cell("code", "value_error.required_cell")
    fields["code"] = code
    kind = str(raw.get("kind") or "").strip()
    if kind not in SensorKind.values:
        raise _Cell(
            "kind", "value_error.kind_cell", {"kind": repr(kind), "expected": list(SensorKind.values)}
        )
    fields["kind"] = kind
    location = str(raw.get("location") or "").strip()
    if location not in Location.values:
        raise _Cell("location", "value_error.location_cell", {"location": repr(location)})
    fields["location"] = location
    gateway = gateways.get(str(raw.get("gateway") or "").strip())
    if gateway is None:
        raise _Cell(
            "gateway", "unknown_gateway.cell", {"gateway": repr(raw.get("gateway"))}, "unknown_gateway"
        )
    fields["gateway"] = gateway
    position = positions.get(str(raw.get("position") or "").strip())
    if position is None:
        raise _Cell(
            "position", "unknown_unit.position_cell", {"position": repr(raw.get("position"))}, "unknown_unit"
        )
    if not position.path.startswith(gateway.site.path):
        raise _Cell(
            "position",
            "value_error.position_site_cell",
            {"position": position.code, "site": gateway.site.code},
        )
    fields["position"] = position
    if raw.get("name") not in (None, ""):
        fields["name"] = str(raw["name"]).strip()
    uom, lo, hi = KIND_DEFAULTS[kind]
    fields["unit_of_measure"] = uom
    for column, default in (("range_min", lo), ("range_max", hi)):
        value = raw.get(column)
        fields[column] = default if value in (None, "") else _float(value, column)
    if fields["range_min"] >= fields["range_max"]:
        raise _Cell("range_max", "value_error.range_order_cell")
    if raw.get("period_s") not in (None, ""):
        period = _float(raw["period_s"], "period_s")
        if period <= 0:
            raise _Cell("period_s", "value_error.period_positive_cell")
        if not period.is_integer():
            raise _Cell("period_s", "value_error.period_whole_cell", {"value": repr(raw["period_s"])})
        fields["period_s"] = int(period)
    if raw.get("calibration_due") not in (None, ""):
        fields["calibration_due"] = _date(raw["calibration_due"], "calibration_due")
    flag = str(raw.get("in_service") if raw.get("in_service") is not None else "").strip().lower()
    if flag:  # a blank cell says nothing: the sensor keeps its state
        if flag not in TRUE | FALSE:
            raise _Cell("in_service", "value_error.in_service_cell", {"value": repr(raw["in_service"])})
        if flag in FALSE:
            raise _Cell("in_service", "value_error.out_of_service_cell")
        fields["in_service"] = True
    if raw.get("sparkplug_metric") not in (None, ""):
        fields["sparkplug_metric"] = str(raw["sparkplug_metric"]).strip()
    return fields


def _chunks(values: list) -> Iterator[list]:
    """Codes to look up, CHUNK at a time; one that cannot be a code (NUL, non-ASCII) is never sent to the
    database — it names nothing, and PostgreSQL would answer a NUL with an error."""
    values = [v for v in values if plausible_code(v)]
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _existing(codes: list[str]) -> dict[str, Sensor]:
    """The registered sensors with these codes, with everything an audit snapshot reads (no query per row)."""
    found: dict[str, Sensor] = {}
    for chunk in _chunks(codes):
        qs = Sensor.objects.filter(code__in=chunk).select_related(
            "gateway__site", "position", "out_of_service_by"
        )
        found.update({s.code: s for s in qs})
    return found


_MODEL_CHECK_EXCLUDE = ["gateway", "position", "out_of_service_by"]  # resolved and scoped above, not per row


def _both_languages(error: ValidationError) -> dict:
    """A model field's message as a message parameter: Django's own text in each language."""
    texts = {}
    for language in ("vi", "en"):
        with override(language):
            texts[language] = " ".join(error)
    return texts


def _model_errors(sensor: Sensor) -> list[tuple[str, dict]]:
    """Field checks of the model (code format, lengths, choices) without a query per row: uniqueness is the
    import's own (one row per code; an existing code is an update) and the check constraints are _fields'.
    Each message in both languages (see _both_languages)."""
    try:
        sensor.full_clean(exclude=_MODEL_CHECK_EXCLUDE, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        return [(name, _both_languages(error)) for name, errors in exc.error_dict.items() for error in errors]
    return []


class _Plan:
    def __init__(self) -> None:
        self.new: list[tuple[int, Sensor]] = []
        self.changed: list[tuple[int, Sensor, dict, dict, str]] = []  # row, sensor, before, after, old path
        self.checked: dict[str, tuple] = {}  # every existing sensor the file names: its columns, as checked
        self.gateways: dict[int, int] = {}  # gateway id → site id, as checked


_COLUMNS = [f.attname for f in Sensor._meta.concrete_fields]


def _columns(sensor: Sensor) -> tuple:
    return tuple(getattr(sensor, name) for name in _COLUMNS)


def _plan(actor, sheet: str, rows: list[tuple[int, dict]]) -> _Plan:
    """Check the whole file (no transaction, no write): every cell, every permission on both places."""
    scope = scope_for(actor)
    gateway_codes = sorted({str(r.get("gateway") or "").strip() for _n, r in rows})
    gateways = {
        g.code: g
        for chunk in _chunks(gateway_codes)
        for g in Gateway.objects.filter(code__in=chunk).select_related("site")
        if scope.allows(Perm.VIEW, g.site.path)
    }
    position_codes = sorted({str(r.get("position") or "").strip() for _n, r in rows})
    positions = {
        u.code: u
        for chunk in _chunks(position_codes)
        for u in Unit.objects.filter(code__in=chunk, kind=UnitKind.POSITION)
        if scope.allows(Perm.VIEW, u.path)
    }
    codes = sorted({str(r.get("code") or "").strip() for _n, r in rows} - {""})
    existing = _existing(codes)
    plan = _Plan()
    errors: list[ErrorItem] = []
    seen: dict[str, int] = {}

    def error(
        number: int, column: str, key: str, params: dict | None = None, type: str = "value_error"
    ) -> None:
        """One refused cell: `key` a "<sheet>!<row> column <column>: …" message of telemetry.messages."""
        where = {"sheet": sheet, "row": str(number), "column": column}
        errors.append(ErrorItem(("file",), type=type, params={**where, **(params or {})}, key=key))

    for number, raw in rows:
        try:
            fields = _fields(raw, gateways, positions)
        except _Cell as cell:
            error(number, cell.column, cell.key, cell.params, cell.type)
            continue
        code = fields["code"]
        if code in seen:
            error(number, "code", "duplicate.row_cell", {"other": str(seen[code])}, "duplicate")
            continue
        seen[code] = number
        gateway = fields["gateway"]
        if not scope.allows(Perm.MANAGE, gateway.site.path):  # the new place
            error(number, "gateway", "permission_denied.site_cell", type="permission_denied")
            continue
        plan.gateways[gateway.id] = gateway.site_id
        sensor = existing.get(code)
        if sensor is None:
            sensor = Sensor(**fields)
            problems = _model_errors(sensor)
            for name, message in problems:
                error(number, name, "value_error.model_cell", {"reason": message})
            if not problems:
                plan.new.append((number, sensor))
            continue
        old_path = sensor.gateway.site.path
        if not scope.allows(Perm.MANAGE, old_path):  # the current place: never taken from another company
            # Codes are unique across the group: say only that this one is taken, not where.
            error(number, "code", "code_taken.cell", {"code": code}, "code_taken")
            continue
        plan.gateways[sensor.gateway_id] = sensor.gateway.site_id
        if fields.get("in_service") and not sensor.in_service:
            error(number, "in_service", "permission_denied.in_service_cell", type="permission_denied")
            continue
        fields.pop("in_service", None)
        plan.checked[code] = _columns(sensor)
        before = snapshot(sensor)
        for name, value in fields.items():
            setattr(sensor, name, value)
        changed_before, changed_after = diff(before, snapshot(sensor))
        if not changed_after:
            continue
        problems = _model_errors(sensor)
        for name, message in problems:
            error(number, name, "value_error.model_cell", {"reason": message})
        if not problems:
            plan.changed.append((number, sensor, changed_before, changed_after, old_path))
    if errors:
        shown = errors[:MAX_ERRORS]
        if len(errors) > MAX_ERRORS:
            shown.append(
                ErrorItem(
                    ("file",),
                    type="value_error",
                    params={"count": len(errors) - MAX_ERRORS},
                    key="value_error.more_errors",
                )
            )
        raise ValidationFailed(items=shown)
    return plan


# ---------------------------------------------------------------- writing: prepared outside, executed at once


def _db_row(obj, fields) -> list:
    return [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]


def _insert_sql(model, fields) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns})"


# SQLite: multi-row INSERTs of 1 000 rows × at most 16 columns stay under its bound on parameters.
ROWS_PER_INSERT = 1000


def _insert(cursor, sql: str, rows: list[list]) -> None:
    """Many rows at once: COPY on PostgreSQL (as readings are stored), multi-row INSERTs on SQLite."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        copy_sql = sql.replace("INSERT INTO", "COPY", 1) + " FROM STDIN"
        with connection.wrap_database_errors, cursor.cursor.copy(copy_sql) as copy:  # Django's error types
            for row in rows:
                copy.write_row(row)
        return
    marks = "(" + ", ".join(["%s"] * len(rows[0])) + ")"
    for start in range(0, len(rows), ROWS_PER_INSERT):
        chunk = rows[start : start + ROWS_PER_INSERT]
        cursor.execute(f"{sql} VALUES {', '.join([marks] * len(chunk))}", [v for row in chunk for v in row])


class _Statements:
    """Every row the import writes, converted to database values before the transaction starts; inside it
    only the ids of the new sensors are filled in (they exist once inserted)."""

    def __init__(self, actor, plan: _Plan) -> None:
        sensor_fields = [f for f in Sensor._meta.concrete_fields if not f.primary_key]
        self.sensor_sql = _insert_sql(Sensor, sensor_fields)
        self.sensor_rows = [_db_row(sensor, sensor_fields) for _n, sensor in plan.new]
        self.new_codes = [sensor.code for _n, sensor in plan.new]
        state_fields = list(SensorState._meta.concrete_fields)
        self.state_sql = _insert_sql(SensorState, state_fields)
        self.state_template = _db_row(SensorState(sensor_id=0), state_fields)  # [sensor id, …, updated_at]
        self.updates: dict[str, list[list]] = {}
        quote = connection.ops.quote_name
        for _n, sensor, _before, after, _old in plan.changed:
            fields = [Sensor._meta.get_field(name) for name in sorted(after)]
            sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
            sql = (
                f"UPDATE {quote(Sensor._meta.db_table)} SET {sets} WHERE {quote(Sensor._meta.pk.column)} = %s"
            )
            self.updates.setdefault(sql, []).append([*_db_row(sensor, fields), sensor.pk])
        audit_fields = [f for f in AuditEntry._meta.concrete_fields if not f.primary_key]
        self.audit_sql = _insert_sql(AuditEntry, audit_fields)
        self.audit_id_column = [f.name for f in audit_fields].index("object_id")
        self.audit_rows: list[list] = []
        self.audit_new: list[tuple[int, str]] = []  # (audit row index, code) of the rows of new sensors
        for _n, sensor in plan.new:
            entry = audit_entry(
                actor=actor,
                action="create",
                obj=sensor,
                unit_path=sensor.gateway.site.path,
                after={k: v for k, v in snapshot(sensor).items() if k != "id"},  # the id is the object's
            )
            self.audit_new.append((len(self.audit_rows), sensor.code))
            self.audit_rows.append(_db_row(entry, audit_fields))
        for _n, sensor, before, after, old_path in plan.changed:
            new_path = sensor.gateway.site.path
            # Moved: the place it left sees the change in its own audit log too.
            for path in dict.fromkeys((new_path, old_path)):
                entry = audit_entry(
                    actor=actor, action="update", obj=sensor, unit_path=path, before=before, after=after
                )
                self.audit_rows.append(_db_row(entry, audit_fields))


def _unchanged_since_checked(plan: _Plan, codes: list[str]) -> None:
    """Inside the write transaction (SQLite: the write lock is held; PostgreSQL: the rows are locked): what the
    check saw is still so, or the file is refused whole with a 409 to be sent again."""
    now: dict[str, tuple] = {}
    for chunk in _chunks(codes):
        rows = Sensor.objects.filter(code__in=chunk)
        if connection.vendor == "postgresql":
            rows = rows.select_for_update().order_by("pk")
        now.update({row[_COLUMNS.index("code")]: row for row in rows.values_list(*_COLUMNS)})
    sites = dict(Gateway.objects.filter(pk__in=list(plan.gateways)).values_list("id", "site_id"))
    if sites != plan.gateways or now != plan.checked:
        raise Conflict(loc=("file",), type="registry_changed", params={}, key="registry_changed.checked")


def _write(plan: _Plan, statements: _Statements, codes: list[str]) -> None:
    """One short transaction: check nothing moved meanwhile, then a few bulk statements."""
    with transaction.atomic():
        _unchanged_since_checked(plan, codes)
        with connection.cursor() as cursor:
            if statements.sensor_rows:
                try:
                    with transaction.atomic():
                        _insert(cursor, statements.sensor_sql, statements.sensor_rows)
                except IntegrityError:
                    raise Conflict(
                        loc=("file",), type="registry_changed", params={}, key="registry_changed.registered"
                    ) from None
                ids: dict[str, int] = {}
                for chunk in _chunks(statements.new_codes):
                    ids.update(Sensor.objects.filter(code__in=chunk).values_list("code", "id"))
                tail = statements.state_template[1:]
                _insert(cursor, statements.state_sql, [[ids[c], *tail] for c in statements.new_codes])
                for index, code in statements.audit_new:
                    statements.audit_rows[index][statements.audit_id_column] = str(ids[code])
            for sql, rows in statements.updates.items():
                cursor.executemany(sql, rows)
            _insert(cursor, statements.audit_sql, statements.audit_rows)
        transaction.on_commit(directory.invalidate)


def sensors_import(*, actor, content: bytes, filename: str) -> dict:
    """Create or update every sensor in the file, or none: returns {"created": n, "updated": n}.

    A new sensor is expected to report from its registration on; until its first reading it is not alarmed
    one by one: the stale scan raises one "never reported" alarm per gateway for those past their due time."""
    sheet, rows = read_table(content, filename)
    plan = _plan(actor, sheet, rows)
    if plan.new or plan.changed:
        codes = sorted({str(r.get("code") or "").strip() for _n, r in rows})
        _write(plan, _Statements(actor, plan), codes)
    directory.invalidate()
    return {"created": len(plan.new), "updated": len(plan.changed)}
