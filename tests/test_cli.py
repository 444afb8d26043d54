"""The `headframe` command, run in-process against the test database."""

import io
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model

from headframe.cli import main
from headframe.core.models import AuditEntry
from headframe.org.models import ApiToken
from headframe.org.services import token_authenticate

User = get_user_model()


def test_createuser_with_repeated_role_unit_pairs(tree, capsys):
    assert (
        main(["createuser", "an", "--role", "reporter", "--unit", "A-M1", "--role", "viewer", "--unit", "G"])
        == 0
    )
    user = User.objects.get(username="an")
    assert sorted(user.role_assignments.values_list("role", "unit__code")) == [
        ("reporter", "A-M1"),
        ("viewer", "G"),
    ]
    assert not user.has_usable_password()
    assert AuditEntry.objects.filter(object_type="auth.user", channel="cli").exists()


def test_createuser_reads_the_password_from_stdin(tree, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-enough-secret\n"))
    assert main(["createuser", "binh", "--role", "viewer", "--unit", "A", "--password-stdin"]) == 0
    assert User.objects.get(username="binh").check_password("a-long-enough-secret")


def test_createuser_refuses_a_weak_password_and_creates_nothing(tree, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("123\n"))
    assert main(["createuser", "cuong", "--role", "viewer", "--unit", "A", "--password-stdin"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "password" in err
    assert not User.objects.filter(username="cuong").exists()


def test_createuser_with_unpaired_role_and_unit_fails_in_one_line(tree, capsys):
    assert main(["createuser", "dung", "--role", "viewer", "--role", "admin", "--unit", "A"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pairs" in err
    assert not User.objects.filter(username="dung").exists()


def test_createuser_with_unknown_unit_names_it_and_creates_nothing(tree, capsys):
    assert (
        main(["createuser", "hai", "--role", "viewer", "--unit", "A", "--role", "viewer", "--unit", "NOPE"])
        == 1
    )
    assert "NOPE" in capsys.readouterr().err
    assert not User.objects.filter(username="hai").exists()


def test_createuser_with_unknown_role(tree, capsys):
    assert main(["createuser", "hung", "--role", "boss", "--unit", "A"]) == 1
    assert "unknown role 'boss'" in capsys.readouterr().err


def test_duplicate_username_is_refused(users, capsys):
    assert main(["createuser", "viewer_a", "--role", "viewer", "--unit", "A"]) == 1
    assert "username" in capsys.readouterr().err.lower()


def test_token_create_prints_only_the_token(users, capsys):
    assert main(["token", "create", "reporter_a", "--name", "excel macro"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    raw = out.strip()
    assert token_authenticate(raw) == users.reporter_a
    assert ApiToken.objects.get(user=users.reporter_a).name == "excel macro"


def test_token_revoke_by_prefix_and_list(users, capsys):
    main(["token", "create", "reporter_a"])
    raw = capsys.readouterr().out.strip()
    prefix = raw.split("_")[1]
    assert main(["token", "revoke", prefix]) == 0
    assert token_authenticate(raw) is None
    assert main(["token", "list", "reporter_a"]) == 0
    assert "revoked" in capsys.readouterr().out


def test_token_for_unknown_user_fails_in_one_line(tree, capsys):
    assert main(["token", "create", "ghost"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ghost" in err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["createuser"],
        ["createuser", "x", "--role", "viewer"],
        ["token"],
        ["serve", "--port", "eighty"],
    ],
)
def test_bad_arguments_fail_with_one_clear_line_and_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err and "--help" in err


@pytest.mark.parametrize("command", ["migrate", "serve", "demo", "createuser", "token", "check"])
def test_every_subcommand_prints_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: headframe" in capsys.readouterr().out


def test_python_dash_m_runs_the_same_command():
    result = subprocess.run(
        [sys.executable, "-m", "headframe", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "createuser" in result.stdout and "token" in result.stdout
