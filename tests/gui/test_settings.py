"""The window's settings (gui/settings.py), start with Windows (gui/autostart.py), the OS
session probe (gui/session_os.py) and the tray (gui/tray.py): no display needed."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from gui import autostart, session_os, settings, tray
from gui.events import Inbox
from gui.settings import Settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, Settings()),  # no file
        ("", Settings()),
        ("not json", Settings()),
        ("[1, 2]", Settings()),
        ('{"clipboard_seconds": 45, "idle_minutes": 3}', Settings(45, 3)),
        ('{"clipboard_seconds": 4}', Settings()),  # below the range
        ('{"clipboard_seconds": 601, "idle_minutes": 241}', Settings()),  # above
        ('{"clipboard_seconds": true, "idle_minutes": "5"}', Settings()),  # wrong types
        ('{"clipboard_seconds": 12.5}', Settings()),
        ('{"close_to_tray": false, "start_with_windows": 1}', Settings(close_to_tray=False)),
        ('{"unknown": 1, "idle_minutes": 240}', Settings(idle_minutes=240)),
        ("x" * 5000, Settings()),  # larger than a settings file can be
    ],
)  # fmt: skip
def test_a_mangled_settings_file_gives_defaults_for_what_is_wrong(
    tmp_path: Path, text: str | None, expected: Settings
) -> None:
    if text is not None:
        (tmp_path / settings.FILE).write_text(text)
    assert settings.load(tmp_path) == expected


def test_settings_are_saved_and_read_back(tmp_path: Path) -> None:
    chosen = Settings(90, 15, close_to_tray=False, start_with_windows=True)
    settings.save(tmp_path, chosen)
    assert settings.load(tmp_path) == chosen
    assert json.loads((tmp_path / settings.FILE).read_text())["idle_minutes"] == 15


@pytest.mark.parametrize(
    ("values", "problems"),
    [
        ({"clipboard_seconds": "30", "idle_minutes": "10"}, set()),
        ({"clipboard_seconds": " 600 ", "idle_minutes": "1"}, set()),
        ({"clipboard_seconds": "", "idle_minutes": "10"}, {"clipboard_seconds"}),
        ({"clipboard_seconds": "4", "idle_minutes": "10"}, {"clipboard_seconds"}),
        ({"clipboard_seconds": "-5", "idle_minutes": "0"}, {"clipboard_seconds", "idle_minutes"}),
        ({"clipboard_seconds": "3e1", "idle_minutes": "10.5"}, {"clipboard_seconds",
                                                                 "idle_minutes"}),
        ({"clipboard_seconds": "٣٠", "idle_minutes": "10"}, {"clipboard_seconds"}),  # not ASCII
        ({"clipboard_seconds": "30", "idle_minutes": "9" * 40}, {"idle_minutes"}),
    ],
)  # fmt: skip
def test_the_settings_form_says_what_is_wrong(
    values: dict[str, str | bool], problems: set[str]
) -> None:
    chosen, found = settings.check(values)
    assert set(found) == problems
    assert (chosen is None) == bool(problems)
    if chosen is not None:
        assert chosen.clipboard_seconds == int(str(values["clipboard_seconds"]).strip())


class FakeRun:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> None:
        self.values.pop(name, None)


def test_start_with_windows_names_the_window_in_the_run_key() -> None:
    run = FakeRun()
    autostart.enable(True, run)
    assert autostart.enabled(run)
    assert run.values[autostart.NAME].endswith('" -m gui.cli gui')
    autostart.enable(False, run)
    autostart.enable(False, run)  # twice: no error
    assert not autostart.enabled(run) and run.values == {}


@pytest.mark.skipif(sys.platform == "win32", reason="elsewhere than Windows")
def test_elsewhere_there_is_no_autostart_and_no_tray() -> None:
    assert not autostart.supported() and not autostart.enabled()
    autostart.enable(True)  # does nothing, raises nothing
    assert tray.start(Inbox.new()) is None


def fake_loginctl(tmp_path: Path, answer: str, code: int = 0) -> str:
    script = tmp_path / "loginctl"
    script.write_text(f"#!/bin/sh\necho {answer}\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


@pytest.mark.skipif(sys.platform == "win32", reason="logind is Linux's")
@pytest.mark.parametrize(
    ("answer", "code", "locked"),
    [("yes", 0, True), ("no", 0, False), ("yes", 1, None), ("", 0, False)],
)
def test_the_logind_probe_answers_a_poll_later_and_never_waits(
    tmp_path: Path, answer: str, code: int, locked: bool | None
) -> None:
    probe = session_os.LoginctlProbe(fake_loginctl(tmp_path, answer, code), "7")
    try:
        assert probe.poll() is None  # the question is asked; the answer comes later
        assert probe._child is not None
        probe._child.wait(10)
        assert probe.poll() is locked
        assert probe._child is not None  # the next question is already on its way
    finally:
        probe.close()
    assert probe._child is None


@pytest.mark.skipif(sys.platform == "win32", reason="logind is Linux's")
def test_a_stuck_loginctl_is_abandoned(tmp_path: Path) -> None:
    script = tmp_path / "loginctl"
    script.write_text("#!/bin/sh\nexec sleep 30\n")
    script.chmod(0o755)
    probe = session_os.LoginctlProbe(str(script), "7")
    try:
        probe.poll()
        child = probe._child
        assert child is not None
        for _ in range(int(probe.TIMEOUT)):
            assert probe.poll() is None
        assert probe._child is None and child.returncode is not None  # killed, reaped
    finally:
        probe.close()


def test_no_probe_without_a_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_SESSION_ID", raising=False)
    if sys.platform != "win32":
        assert session_os.probe() is None
    monkeypatch.setenv("XDG_SESSION_ID", "3")
    monkeypatch.setenv("PATH", os.devnull)  # no loginctl to be found
    if sys.platform != "win32":
        assert session_os.probe() is None
