"""Accounts from the command line: create a user, API tokens, unlock a throttled log-in."""

from __future__ import annotations

import sys

from headframe.cli.common import CommandError


def _read_password_stdin() -> str:
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise CommandError("--password-stdin: no password on standard input")
    return password


def cmd_createuser(args) -> int:
    from headframe.core.audit import channel
    from headframe.org.services import user_create

    if len(args.role) != len(args.unit):
        raise CommandError(
            f"give --role and --unit in pairs: got {len(args.role)} --role and {len(args.unit)} --unit"
        )
    password = _read_password_stdin() if args.password_stdin else None
    with channel("cli"):
        user = user_create(
            actor=None,
            username=args.name,
            grants=list(zip(args.role, args.unit, strict=True)),
            password=password,
            email=args.email or "",
        )
    roles = ", ".join(f"{r}@{u}" for r, u in zip(args.role, args.unit, strict=True))
    print(
        f"created user {user.username}: {roles}" + ("" if password else " (no password: token login only)"),
        file=sys.stderr,
    )
    return 0


def cmd_token(args) -> int:
    from headframe.core.audit import channel
    from headframe.org.models import ApiToken
    from headframe.org.services import token_create, token_revoke, user_by_username

    with channel("cli"):
        if args.token_command == "create":
            user = user_by_username(args.user)
            _, raw = token_create(actor=None, user=user, name=args.name or "")
            print(raw)  # only the token on stdout, so scripts can capture it
        elif args.token_command == "revoke":
            prefix = args.token.removeprefix("hf_").split("_", 1)[0]
            token = ApiToken.objects.filter(prefix=prefix).first()
            if token is None:
                raise CommandError(f"no token with prefix {prefix!r}")
            changed = token_revoke(actor=None, token=token)
            print(f"token {prefix} {'revoked' if changed else 'was already revoked'}", file=sys.stderr)
        else:
            user = user_by_username(args.user)
            for token in ApiToken.objects.filter(user=user):
                state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
                used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
                print(
                    f"{token.prefix}\t{token.name or '-'}\t{token.created_at:%Y-%m-%d}\tlast used {used}\t{state}"
                )
    return 0


def cmd_unlock_login(args) -> int:
    from headframe.core.audit import channel
    from headframe.org.login import login_unlock
    from headframe.org.models import LoginThrottle

    kind = LoginThrottle.Kind.ADDRESS if args.address else LoginThrottle.Kind.ACCOUNT
    throttle = LoginThrottle.objects.filter(kind=kind, key=args.name).first()
    if throttle is None:
        print(f"no failed log-ins recorded for {kind} {args.name!r}: nothing to unlock", file=sys.stderr)
        return 0
    with channel("cli"):
        was_locked = login_unlock(actor=None, throttle=throttle)
    state = "unlocked" if was_locked else "was not locked; its failure count is cleared"
    print(f"{kind} {args.name} {state}", file=sys.stderr)
    return 0
