"""The sensor directory: a registry change in this process is seen at once; an age-based reload by one thread
never holds up the others."""

import time

from headframe.telemetry.directory import RELOAD_AFTER_S, directory
from headframe.telemetry.models import Sensor


def test_a_sensor_registered_here_is_known_at_once(mine):
    assert directory.get("A1-CH4-09") is None
    mine.add_sensor("A1-CH4-09")  # invalidates: the next look-up waits for the reload
    assert directory.get("A1-CH4-09").kind == "ch4_pct"


def test_while_one_thread_reloads_an_old_directory_the_others_go_on_with_it(mine, monkeypatch):
    known = directory.by_code()
    assert "A1-CH4-01" in known
    directory._loaded_at = time.monotonic() - RELOAD_AFTER_S - 1  # due for its periodic reload
    Sensor.objects.filter(pk=mine.ch4.pk).update(range_max=50)  # a change made by another process
    loads = []
    monkeypatch.setattr(directory, "_load", lambda: loads.append(1))

    assert directory._lock.acquire(blocking=False)  # another thread is reloading
    try:
        assert directory.by_code() is known  # not blocked: the directory as it was
        assert loads == []
    finally:
        directory._lock.release()
    monkeypatch.undo()

    assert directory.get("A1-CH4-01").range_max == 50  # the next look-up reloads
