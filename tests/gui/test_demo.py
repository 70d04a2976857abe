"""The demo (gui/demo.py): an office with sample entries and a second PC, made once and
all at once; sam's changes; sam's PC started and stopped with the window (loopback)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gui import demo
from node.tokens import Role
from node.vault import Vault
from tests.node.vault_kit import PROFILE

ENV = {**os.environ, "OFFICEVAULT_INSECURE_TEST_KDF": "1"}
NOW = 1_790_000_000


def pw() -> bytearray:
    return bytearray(demo.PASSWORD.encode())


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> demo.Demo:
    return demo.prepare(tmp_path_factory.mktemp("demo") / "OfficeVault demo", PROFILE, NOW)


def test_the_demo_office_has_samples_and_a_second_admin_pc(made: demo.Demo) -> None:
    with Vault.open(made.you, pw(), PROFILE) as you:
        assert sorted(s.title for s in you.entries()) == sorted(s["title"] for s in demo.SAMPLES)
        assert you.role is Role.ADMIN
        users = {u.user: u.role for u in you.office.users()}
    assert users == {"you": Role.ADMIN, "sam": Role.ADMIN}
    with Vault.open(made.sam, pw(), PROFILE) as sam:
        assert sam.role is Role.ADMIN and len(sam) == 0  # sam's node syncs the entries


def test_the_demo_is_made_once_and_never_half(made: demo.Demo) -> None:
    base = made.you.parent
    before = sorted(p.name for p in base.iterdir())
    assert demo.prepare(base, PROFILE, NOW + 99) == made  # kept as it is
    assert sorted(p.name for p in base.iterdir()) == before
    assert not list(base.parent.glob("*.new"))  # no half-made folder left beside it


def test_sam_changes_the_wi_fi_password_then_adds_an_entry(made: demo.Demo, tmp_path: Path) -> None:
    you_dir = tmp_path / "you"
    shutil.copytree(made.you, you_dir)
    with Vault.open(you_dir, pw(), PROFILE) as you:
        wifi = next(s for s in you.entries() if s.title == "Office Wi-Fi")
        before = you.get(wifi.id, reveal=True).password
        assert demo.sam_step(you, 0, NOW + 10) == "Office Wi-Fi"
        assert you.get(wifi.id, reveal=True).password != before
        assert demo.sam_step(you, 1, NOW + 11) == demo.SAM_ADDS[0]
        assert demo.SAM_ADDS[0] in {s.title for s in you.entries()}


def test_sams_script_makes_its_steps_and_stops(made: demo.Demo, tmp_path: Path) -> None:
    sam = tmp_path / "sam"
    shutil.copytree(made.sam, sam)
    done = subprocess.run(
        [sys.executable, "-m", "gui.demo", "sam", str(sam), "--steps", "1", "--every", "0"],
        env=ENV, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with Vault.open(sam, pw(), PROFILE) as vault:
        assert [s.title for s in vault.entries()] == [demo.SAM_ADDS[0]]  # no Wi-Fi here yet


def test_the_second_pc_starts_on_loopback_and_stops_with_the_window(
    made: demo.Demo, tmp_path: Path
) -> None:
    copy = demo.folders(tmp_path)
    shutil.copytree(made.you, copy.you)
    shutil.copytree(made.sam, copy.sam)
    second = demo.SecondPc(copy, ENV)
    try:
        assert second.node.running and second.script.poll() is None
        assert second.node_options[-1] == f"127.0.0.1:{second.port}"
        assert "--no-mdns" in second.node_options
    finally:
        second.stop()
    assert not second.node.running and second.script.returncode is not None


def demo_processes(folder: Path) -> list[int]:
    """PIDs of processes whose command line names `folder` (sam's node and script)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                line = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if str(folder).encode() in line:
                found.append(int(proc.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_demo_window_opens_and_its_second_pc_stops_with_it(
    display: str, tmp_path: Path
) -> None:
    folder = tmp_path / "demo"
    painted = tmp_path / "painted"
    env = {**ENV, "DISPLAY": display, "OFFICEVAULT_PAINTED": str(painted),
           "OFFICEVAULT_EXIT_AFTER_PAINT": "1"}  # fmt: skip
    officevault = str(Path(sys.executable).parent / "officevault")
    try:
        done = subprocess.run([officevault, "gui", "--demo", "--data-dir", str(folder)], env=env,
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert painted.read_text().strip()  # the unlock screen was painted
        assert (folder / "you").is_dir() and (folder / "sam").is_dir()
        end = time.monotonic() + 20
        while demo_processes(folder) and time.monotonic() < end:
            time.sleep(0.1)
        assert demo_processes(folder) == [], "sam's PC outlived the window"
    finally:
        for pid in demo_processes(folder):
            os.kill(pid, signal.SIGKILL)
