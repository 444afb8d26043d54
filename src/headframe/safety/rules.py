"""Pure rules of the safety app: how a typed reading is read and shown, when an item counts as answered, where
several units meet. No queries, no writes."""

from __future__ import annotations

import math
import re

from django.utils import translation

from headframe.core.formatting import format_exact
from headframe.safety.models import Answer, AnswerType, TemplateItem

CHOICES = ("pass", "fail", "na")
MAX_TEXT = 2000

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def as_number(value) -> float | None:
    """A reading as typed: a number, or ASCII digits with a decimal point or a Vietnamese decimal comma.
    True/false, Unicode digits ("١٢٣"), digit separators ("1_000"), exponents and words are not readings."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, str):
        value = value.strip().replace(" ", "")
        if "," in value:  # Vietnamese decimal comma: 0,45 (a dot before it groups thousands)
            value = value.replace(".", "").replace(",", ".")
        if not _NUMBER.fullmatch(value):
            raise ValueError(value)
    elif not isinstance(value, int | float):
        raise ValueError(value)
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(value) from None
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def format_value(value: float) -> str:
    """A measured value in a verdict, the way the active language writes it: 0,2 (vi), 0.2 (en)."""
    shown = f"{value:g}"
    if (translation.get_language() or "vi").startswith("en") or not math.isfinite(value) or "e" in shown:
        return shown
    return format_exact(shown)


def is_answered(item: TemplateItem, answer: Answer | None, photo_items: set) -> bool:
    """Whether an item has an answer: a choice, a number, some text, or (a photo item) a photo."""
    return {
        AnswerType.PASS_FAIL_NA: answer is not None and answer.choice != "",
        AnswerType.NUMBER: answer is not None and answer.number is not None,
        AnswerType.TEXT: answer is not None and answer.text.strip() != "",
        AnswerType.PHOTO: item.pk in photo_items,
    }[item.answer_type]


def common_path(paths: list[str]) -> str:
    """The deepest path that every one of paths lies under ("" when they share nothing)."""
    if not paths:
        return ""
    parts = [p.strip("/").split("/") for p in paths]
    common = []
    for segment in zip(*parts, strict=False):
        if len(set(segment)) != 1:
            break
        common.append(segment[0])
    return "/" + "/".join(common) + "/" if common else ""
