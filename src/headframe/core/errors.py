"""One application error type. Services raise it; the API maps it to
{"detail": [{"loc": [...], "msg": "...", "type": "..."}]} with its HTTP status, the CLI prints one line."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorItem:
    loc: tuple[str | int, ...]
    msg: str
    type: str

    def as_dict(self) -> dict:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


class HeadframeError(Exception):
    """Base application error: a status code and one or more field-level items."""

    status = 400
    default_type = "error"

    def __init__(self, msg: str = "", *, loc: Sequence[str | int] = (), type: str = "", items=None):
        super().__init__(msg)
        self.items: list[ErrorItem] = (
            list(items) if items else [ErrorItem(tuple(loc), msg, type or self.default_type)]
        )

    def __str__(self) -> str:
        return "; ".join(
            (".".join(str(p) for p in item.loc) + ": " if item.loc else "") + item.msg for item in self.items
        )

    def as_detail(self) -> list[dict]:
        return [item.as_dict() for item in self.items]


class ValidationFailed(HeadframeError):
    status = 422
    default_type = "value_error"

    @classmethod
    def from_django(cls, exc, prefix: Iterable[str | int] = ("body",)) -> ValidationFailed:
        """Turn a django ValidationError (from full_clean) into field-level items."""
        prefix = tuple(prefix)
        items: list[ErrorItem] = []
        if hasattr(exc, "error_dict"):
            for name, errors in exc.error_dict.items():
                loc = prefix if name == "__all__" else (*prefix, name)
                for error in errors:
                    for message in error.messages:
                        items.append(ErrorItem(loc, message, error.code or "value_error"))
        else:
            for message in exc.messages:
                items.append(ErrorItem(prefix, message, "value_error"))
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
