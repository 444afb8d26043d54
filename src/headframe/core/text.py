"""Names and free text that people type: refuse the characters that hide or reorder what is shown.

A NUL byte breaks PostgreSQL text and downstream files; a right-to-left override (U+202E) makes
"CH4-LC01‮10" display as something else on a dispatcher's screen; zero-width characters make two names look
identical while being different keys. None has a place in a unit, sensor, person or indicator name."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.utils import translation
from django.utils.translation import gettext_noop as N

from headframe.core.errors import ValidationFailed

if TYPE_CHECKING:
    from headframe.core.messages import InLanguages

# Bidirectional embeddings, overrides and isolates; zero-width and invisible formatting characters.
_HIDDEN = {
    *"\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e",
    *"\u202a\u202b\u202c\u202d\u202e",
    *"\u2066\u2067\u2068\u2069",
    *"\u200e\u200f\u061c",
}


def hidden_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character that has no place in a name (or in multi-line text), as U+XXXX; None if clean."""
    for char in text:
        if char in _HIDDEN:
            return f"U+{ord(char):04X}"
        if unicodedata.category(char) == "Cc" and not (multiline and char in "\n\r\t"):
            return f"U+{ord(char):04X}"
    return None


def check_clean_text(
    text: object, *, loc: Sequence[str | int] = (), multiline: bool = False, label: str = "the text"
) -> None:
    """Raise a 422 naming the character when `text` holds a control, bidi-override or zero-width character."""
    if not isinstance(text, str):
        return
    found = hidden_character(text, multiline=multiline)
    if found:
        raise ValidationFailed(
            loc=tuple(loc),
            type="hidden_character",
            params={"label": _in_both_languages(label), "found": found},
            key="hidden_character.found",
        )


# The labels services pass (marked so that makemessages keeps their translations).
_LABELS = (N("the text"), N("the note"), N("the name"), N("the directive"), N("username"))


def _in_both_languages(label: str) -> InLanguages:
    """The field's label as a message parameter: its Vietnamese translation when the catalogue has one."""
    with translation.override("vi"):
        return {"vi": translation.gettext(label), "en": label}
