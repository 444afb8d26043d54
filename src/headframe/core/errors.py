"""One application error type. Services raise it; the API maps it to
{"detail": [{"loc": [...], "msg": "...", "type": "..."}]} with its HTTP status, the CLI prints one line.

An item carries a code (`type`) and, when raised the catalogue way, `params`: the message is then the catalogue's
template for `key or type` (headframe.core.messages), rendered in English as `msg` (what `str(exc)` and API
clients that name no language get, as before) and in the active language as `text` (pages and the import CLI
show `item.text` / `exc.text`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias, TypedDict

from headframe.core.messages import render

if TYPE_CHECKING:
    from django.core.exceptions import ValidationError

Loc: TypeAlias = tuple[str | int, ...]
"""Where an error lies: ("body", "grants", 0, "unit"), ("query", "unit"), ("path", "code")…"""


class DetailItem(TypedDict):
    """One item of an error response's `detail` list."""

    loc: list[str | int]
    msg: str
    type: str


@dataclass(frozen=True)
class ErrorItem:
    loc: Loc
    msg: str = ""
    type: str = "error"
    params: dict[str, Any] | None = field(default=None, compare=False)
    key: str = field(default="", compare=False)  # catalogue entry when not `type`: one code, several texts

    def __post_init__(self) -> None:
        if not self.msg and self.params is not None:
            object.__setattr__(self, "msg", render(self, "en"))

    @property
    def text(self) -> str:
        """The message in the active language (the UI language on a page)."""

        return render(self)

    def as_dict(self, language: str | None = None) -> DetailItem:
        """`language` None: `msg` as raised (English for catalogue messages); else rendered in that language."""
        msg = self.msg if language is None else render(self, language)
        return {"loc": list(self.loc), "msg": msg, "type": self.type}


class HeadframeError(Exception):
    """Base application error: a status code and one or more field-level items."""

    status = 400
    default_type = "error"

    def __init__(
        self,
        msg: str = "",
        *,
        loc: Sequence[str | int] = (),
        type: str = "",
        items: Iterable[ErrorItem] | None = None,
        params: dict[str, Any] | None = None,
        key: str = "",
    ) -> None:
        self.items: list[ErrorItem] = (
            list(items) if items else [ErrorItem(tuple(loc), msg, type or self.default_type, params, key)]
        )
        super().__init__(msg or (self.items[0].msg if len(self.items) == 1 else ""))

    def __str__(self) -> str:
        return "; ".join(
            (".".join(str(p) for p in item.loc) + ": " if item.loc else "") + item.msg for item in self.items
        )

    @property
    def text(self) -> str:
        """Every item's message in the active language, joined (for a page's message banner)."""
        return "; ".join(item.text for item in self.items)

    def as_detail(self, language: str | None = None) -> list[DetailItem]:
        return [item.as_dict(language) for item in self.items]


class ValidationFailed(HeadframeError):
    status = 422
    default_type = "value_error"

    @classmethod
    def from_django(cls, exc: ValidationError, prefix: Iterable[str | int] = ("body",)) -> ValidationFailed:
        """Turn a django ValidationError (from full_clean) into field-level items."""
        where = tuple(prefix)
        items: list[ErrorItem] = []
        if hasattr(exc, "error_dict"):
            for name, errors in exc.error_dict.items():
                loc = where if name == "__all__" else (*where, name)
                for error in errors:
                    for message in error.messages:
                        items.append(ErrorItem(loc, message, error.code or "value_error"))
        else:
            for message in exc.messages:
                items.append(ErrorItem(where, message, "value_error"))
        return cls(items=items)


class NotFound(HeadframeError):
    status = 404
    default_type = "not_found"


class PermissionDenied(HeadframeError):
    status = 403
    default_type = "permission_denied"


class Conflict(HeadframeError):
    status = 409
    default_type = "conflict"


class TooLarge(HeadframeError):
    """An upload past one of the stated limits (bytes, rows, cell size, unpacked size): HTTP 413."""

    status = 413
    default_type = "too_large"
