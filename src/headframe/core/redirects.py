"""Where a `next=` parameter may send the browser: only back into this site."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.http import url_has_allowed_host_and_scheme

if TYPE_CHECKING:
    from django.http import HttpRequest


def safe_next(request: HttpRequest, candidate: str | None, fallback: str) -> str:
    """`candidate` if it is a URL on this host (same scheme when the request is HTTPS), else `fallback` —
    never another site (an open redirect is a phishing link that starts on a trusted address)."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback
