"""System checks of headframe's own configuration (`headframe check --deploy`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import checks

if TYPE_CHECKING:
    from django.apps import AppConfig


@checks.register(checks.Tags.security, deploy=True)
def secret_key_is_not_the_demo_key(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """A production server must not run on the key `make demo` left under var/: it was never meant to be kept
    secret (it sits next to the demo database) and sessions and API tokens are signed with it."""
    if getattr(settings, "SECRET_KEY_SOURCE", "") != "demo-file":
        return []
    return [
        checks.Warning(
            "the secret key is the demo's (var/demo-secret-key), not HEADFRAME_SECRET_KEY",
            hint="set HEADFRAME_SECRET_KEY to a long random string in the server's environment",
            id="headframe.W001",
        )
    ]
