"""Log-in forms of the web pages and of the Django admin, throttled and audited (org.login)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables

from headframe.org import login

if TYPE_CHECKING:
    # The mixin runs AuthenticationForm's clean its own way: to mypy it is one, at run time a plain mixin.
    LoginFormBase = AuthenticationForm
else:
    LoginFormBase = object


def locked_message(lock: login.LoginLock) -> str:
    minutes = lock.minutes_left
    if lock.kind == login.Kind.ADDRESS:
        return ngettext(
            "Too many failed log-ins from this computer: log-in is blocked for %(minutes)d more minute. "
            "Try again later or ask an administrator to unlock it.",
            "Too many failed log-ins from this computer: log-in is blocked for %(minutes)d more minutes. "
            "Try again later or ask an administrator to unlock it.",
            minutes,
        ) % {"minutes": minutes}
    return ngettext(
        "Too many failed log-ins: this account is locked for %(minutes)d more minute. "
        "Try again later or ask an administrator to unlock it.",
        "Too many failed log-ins: this account is locked for %(minutes)d more minutes. "
        "Try again later or ask an administrator to unlock it.",
        minutes,
    ) % {"minutes": minutes}


class ThrottledLoginMixin(LoginFormBase):
    """AuthenticationForm.clean with a lock check before the password, a count of every failure, and an audit
    row for every success, failure and lockout. `locked_message` is set when a lock refused the attempt."""

    locked_message = ""

    def _locked(self, lock: login.LoginLock) -> ValidationError:
        self.locked_message = locked_message(lock)
        return ValidationError(self.locked_message, code="locked")

    @sensitive_variables("password")
    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return self.cleaned_data  # the field errors say what is missing; nothing was tried
        address = login.client_address(self.request)
        lock = login.login_lock(username, address)
        if lock is not None:
            login.login_refused(username=username, address=address, reason=f"{lock.kind}_locked")
            raise self._locked(lock)
        user = authenticate(self.request, username=username, password=password)
        if user is None:
            lock = login.login_failed(username=username, address=address)
            if lock is not None:
                raise self._locked(lock)
            raise self.get_invalid_login_error()
        self.user_cache = user
        try:
            self.confirm_login_allowed(user)  # e.g. the admin's "staff only": not a guessed password
        except ValidationError:
            login.login_refused(username=username, address=address, reason="not_allowed")
            raise
        login.login_succeeded(user=user, address=address)
        return self.cleaned_data


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    """The pages' log-in (/accounts/login/), throttled and audited under the "web" channel."""


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The admin's log-in (/admin/login/), throttled and audited under the "admin" channel."""
