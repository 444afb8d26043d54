"""Settings refuse unsafe configurations with one clear line (run in a fresh process, outside pytest)."""

import os
import subprocess
import sys

import pytest


def _run_check(tmp_path, command=("check",), **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HEADFRAME_", "PYTEST_"))}
    clean.update({"HEADFRAME_VAR_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "-m", "headframe", *command], env=clean, capture_output=True, text=True, check=False
    )


def test_secret_key_is_required_outside_the_demo(tmp_path):
    result = _run_check(tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "HEADFRAME_SECRET_KEY is required" in result.stderr


def test_with_a_secret_key_check_reports_pending_migrations(tmp_path):
    result = _run_check(tmp_path, HEADFRAME_SECRET_KEY="k" * 50)
    assert result.returncode == 1
    assert "migration(s) not applied" in result.stderr


def test_a_malformed_boolean_is_refused(tmp_path):
    result = _run_check(tmp_path, HEADFRAME_SECRET_KEY="k" * 50, HEADFRAME_DEBUG="maybe")
    assert result.returncode == 1
    assert "HEADFRAME_DEBUG must be true or false" in result.stderr


@pytest.mark.parametrize(
    ("name", "raw", "said"),
    [
        ("HEADFRAME_WEB_THREADS", "abc", "must be an integer, got 'abc'"),  # page turns: at least one
        ("HEADFRAME_WEB_THREADS", "0", "must be at least 1, got 0"),
        (
            "HEADFRAME_WEB_NICE",
            "low",
            "must be an integer, got 'low'",
        ),  # the web workers' priority: a nice increment
        ("HEADFRAME_WEB_NICE", "20", "must be between 0 and 19, got 20"),
    ],
)
def test_a_whole_number_setting_outside_its_range_is_refused_in_one_line(tmp_path, name, raw, said):
    result = _run_check(tmp_path, HEADFRAME_SECRET_KEY="k" * 50, **{name: raw})
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert f"{name} {said}" in result.stderr


def test_deploy_check_warns_when_the_key_is_the_demos(tmp_path):
    (tmp_path / "demo-secret-key").write_text("d" * 50)
    demo_key = _run_check(tmp_path, command=("manage", "check", "--deploy"))
    assert "headframe.W001" in demo_key.stderr + demo_key.stdout
    own_key = _run_check(tmp_path, command=("manage", "check", "--deploy"), HEADFRAME_SECRET_KEY="k" * 50)
    assert "headframe.W001" not in own_key.stderr + own_key.stdout
