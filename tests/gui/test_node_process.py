"""The window's sync node as a child process (gui/node_process.py): it starts on a
password handed through a pipe (wiped here at once), logs to node.log, stops cleanly on
request; a wrong password ends it with a clear line. Loopback only, mDNS off."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gui.node_process import LOG, NodeProcess
from tests.node.vault_kit import PASSWORD

OPTIONS = ("--no-mdns", "--listen", "127.0.0.1")
ENV = {**os.environ, "OFFICEVAULT_INSECURE_TEST_KDF": "1"}


def wait_for(path: Path, text: str, node: NodeProcess, seconds: float = 30.0) -> str:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        logged = path.read_text(errors="replace") if path.exists() else ""
        if text in logged or not node.running:
            return logged
        time.sleep(0.05)
    return path.read_text(errors="replace")


def test_the_node_starts_from_a_piped_password_and_stops_cleanly(
    office: dict[str, Path], tmp_path: Path
) -> None:
    data = tmp_path / "bob"
    shutil.copytree(office["bob"], data)
    password = bytearray(PASSWORD.encode())
    node = NodeProcess.start(data, password, OPTIONS, ENV)
    try:
        assert password == bytes(len(password))
        logged = wait_for(data / LOG, "listening on 127.0.0.1", node)
        assert "listening on 127.0.0.1" in logged and node.running
    finally:
        code = node.stop()
    assert code == 0 and not node.revoked
    assert "node stopped" in (data / LOG).read_text()
    assert PASSWORD not in (data / LOG).read_text()


def test_a_wrong_password_ends_the_node_with_one_clear_line(
    office: dict[str, Path], tmp_path: Path
) -> None:
    data = tmp_path / "bob"
    shutil.copytree(office["bob"], data)
    node = NodeProcess.start(data, bytearray(b"not the password"), OPTIONS, ENV)
    try:
        end = time.monotonic() + 30
        while node.running and time.monotonic() < end:
            time.sleep(0.05)
    finally:
        code = node.stop()
    logged = (data / LOG).read_text()
    assert code != 0 and "Traceback" not in logged and "password" in logged


WINDOW = """
import sys, time
from pathlib import Path
from gui.node_process import NodeProcess
node = NodeProcess.start(Path(sys.argv[1]), bytearray(sys.argv[2].encode()),
                         ("--no-mdns", "--listen", "127.0.0.1"))
print(node._proc.pid, flush=True)
time.sleep(float(sys.argv[3]))  # then this 'window' dies without stopping its node
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie waits for its (new) parent to reap it
        return fh.read().split(") ", 1)[1][0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_node_stops_when_its_window_dies(office: dict[str, Path], tmp_path: Path) -> None:
    data = tmp_path / "bob"
    shutil.copytree(office["bob"], data)
    window = subprocess.run(
        [sys.executable, "-c", WINDOW, str(data), PASSWORD, "1.5"],
        env=ENV, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    pid = int(window.stdout.strip())
    try:
        end = time.monotonic() + 30
        while alive(pid) and time.monotonic() < end:
            time.sleep(0.05)
        assert not alive(pid), "the node outlived its window"
        assert "node stopped" in (data / LOG).read_text()
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
