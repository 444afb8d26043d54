"""The error catalogue: every code raised anywhere in src/ has a message, translated to Vietnamese; messages
render in the UI language with Vietnamese numbers and dates; the API keeps English unless asked."""

from __future__ import annotations

import ast
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

from django.utils import translation

import headframe
from headframe.core.errors import ErrorItem, HeadframeError, ValidationFailed
from headframe.core.messages import CATALOGUE, named, render

SRC = Path(headframe.__file__).parent
ERROR_CALLS = {"ErrorItem", "ValidationFailed", "Conflict", "NotFound", "PermissionDenied", "TooLarge"}
ERROR_CALLS |= {"HeadframeError", "PydanticCustomError"}


def _name(func) -> str | None:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _text(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def raised_codes() -> dict[str, str]:
    """code (or catalogue key) → first place it is raised, found by reading every module of src/headframe."""
    found: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.relative_to(SRC)}:{getattr(node, 'lineno', 0)}"
            codes: list[str | None] = []
            if isinstance(node, ast.Call):
                name = _name(node.func)
                if name in ERROR_CALLS:
                    codes += [_text(kw.value) for kw in node.keywords if kw.arg in ("type", "key")]
                if name == "ErrorItem" and len(node.args) >= 3:
                    codes.append(_text(node.args[2]))
                if name == "ErrorItem" and len(node.args) >= 5:
                    codes.append(_text(node.args[4]))
                if name == "PydanticCustomError" and node.args:
                    codes.append(_text(node.args[0]))
                if name == "FigureError":
                    codes += [_text(arg) for arg in node.args[1:3]]
                if (
                    name == "error" and len(node.args) == 3
                ):  # the workbook parser's self.error(loc, msg, type)
                    codes.append(_text(node.args[2]))
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "default_type" for t in node.targets
            ):
                codes.append(_text(node.value))
            for code in codes:
                if code and re.fullmatch(r"[a-z0-9_.]+", code):
                    found.setdefault(code, where)
    return found


def test_the_walk_finds_the_codes_the_issue_names():
    codes = raised_codes()
    assert {"negative", "future_day", "deadline_in_past", "evidence_required", "mixed_shifts"} <= set(codes)
    assert len(codes) > 80


def test_every_raised_code_has_a_catalogue_entry():
    missing = {code: where for code, where in raised_codes().items() if code not in CATALOGUE}
    assert not missing, f"codes without a catalogue entry: {missing}"


def test_every_catalogue_entry_has_a_vietnamese_translation():
    with translation.override("vi"):
        untranslated = [
            key for key, template in CATALOGUE.items() if translation.gettext(template) == template
        ]
    assert not untranslated, f"no Vietnamese for: {untranslated}"


def test_translations_keep_the_placeholders_of_their_template():
    placeholder = re.compile(r"\{(\w+)\}")
    with translation.override("vi"):
        wrong = [
            key
            for key, template in CATALOGUE.items()
            if set(placeholder.findall(translation.gettext(template))) != set(placeholder.findall(template))
        ]
    assert not wrong


def test_a_message_renders_in_the_language_asked_with_vietnamese_numbers_and_dates():
    item = ErrorItem(("body", "value"), "", "negative", {"value": Decimal("-1234.5")}, "negative.value")
    assert item.msg == "negative value -1234.5"
    assert render(item, "vi") == "giá trị âm -1.234,5"
    day = ErrorItem(("body", "day"), "", "future_day", {"day": dt.date(2026, 12, 31)}, "future_day.day")
    with translation.override("vi"):
        assert day.text == "31/12/2026 là ngày trong tương lai"
    with translation.override("en"):
        assert day.text == "31/12/2026 is in the future"


def test_a_named_parameter_shows_the_name_in_the_language_never_the_code():
    class Indicator:
        code, name_vi, name_en = "raw_coal_t", "Than nguyên khai", "Raw coal"

    item = ErrorItem(
        (), "", "derived_indicator", {"indicator": named(Indicator())}, "derived_indicator.entered"
    )
    assert render(item, "vi") == "Than nguyên khai được tính tự động, không nhập"
    assert render(item, "en") == "Raw coal is computed, not entered"


def test_an_english_message_without_params_falls_back_to_its_codes_vietnamese():
    exc = ValidationFailed("holiday 7 not found", type="not_found")
    assert str(exc) == "holiday 7 not found"
    with translation.override("vi"):
        assert exc.text == "không tìm thấy"


def test_the_error_keeps_msg_loc_and_type_for_the_api():
    exc = HeadframeError(
        loc=("body", "x"),
        type="deadline_in_past",
        params={"deadline": dt.date(2026, 1, 2), "today": dt.date(2026, 1, 5)},
        key="deadline_in_past.day",
    )
    assert exc.as_detail() == [
        {
            "loc": ["body", "x"],
            "msg": "the deadline 02/01/2026 is in the past (today is 05/01/2026)",
            "type": "deadline_in_past",
        }
    ]
    assert exc.as_detail("vi")[0]["msg"] == "hạn hoàn thành 02/01/2026 đã qua (hôm nay là 05/01/2026)"


# --- the audit log page reads in the UI language --------------------------------------------------------


def _entry(**kw):
    from headframe.core.models import AuditEntry

    defaults = {
        "channel": "web",
        "action": "update",
        "object_type": "production.actual",
        "object_repr": "A-M1",
    }
    return AuditEntry(**{**defaults, **kw})


def test_audit_changes_show_field_names_values_and_channel_in_vietnamese():
    from headframe.core.selectors import audit_display

    entry = _entry(
        before={"value": "1234.5", "day": "2026-10-05", "source": "web"}, after={"value": "1300", "shift": 2}
    )
    with translation.override("vi"):
        [shown] = audit_display([entry])
        labels = {label: (old, new) for label, old, new in shown.changes}
        value_label = translation.gettext("value")
        day_label = translation.gettext("production day")
    assert labels[value_label] == ("1.234,5", "1.300")
    assert labels[day_label] == ("05/10/2026", "")
    assert shown.channel_label == "trang web"
    assert "production.actual" not in shown.object_label


def test_audit_changes_read_in_english_on_an_english_page():
    from headframe.core.selectors import audit_display

    entry = _entry(before={"value": "1234.5"}, after={"value": "1300"})
    with translation.override("en"):
        [shown] = audit_display([entry])
    assert shown.changes == [("value", "1,234.5", "1,300")]
    assert shown.channel_label == "web page"


def test_shelving_comment_in_the_alarm_journal_reads_in_vietnamese():
    from types import SimpleNamespace

    from headframe.telemetry.words import journal_comment

    entry = SimpleNamespace(comment="15 min: kiểm tra đầu đo", user_id=1)
    with translation.override("vi"):
        assert journal_comment(entry) == "15 phút: kiểm tra đầu đo"


def test_audit_object_shows_the_indicator_name_never_its_code(db):
    from headframe.core.selectors import audit_display
    from headframe.production.models import Indicator

    Indicator.objects.update_or_create(
        code="raw_coal_t",
        defaults={"name_vi": "Than nguyên khai", "name_en": "Raw coal", "unit_of_measure": "t"},
    )
    with translation.override("vi"):
        [shown] = audit_display([_entry(object_repr="VSO raw_coal_t 05/12/2026 ca 1")])
    assert shown.object_text == "VSO Than nguyên khai 05/12/2026 ca 1"
    with translation.override("en"):
        [shown] = audit_display([_entry(object_repr="VSO raw_coal_t 05/12/2026 ca 1")])
    assert shown.object_text == "VSO Raw coal 05/12/2026 ca 1"
    # a code inside a longer word or a unit code is left alone
    with translation.override("vi"):
        [shown] = audit_display([_entry(object_repr="raw_coal_t_old A-raw_coal_t")])
    assert shown.object_text == "raw_coal_t_old A-raw_coal_t"
