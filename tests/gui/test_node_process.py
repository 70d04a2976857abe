"""The window's sync node as a child process (gui/node_process.py): it starts on a
password handed through a pipe (wiped here at once), logs to node.log, stops cleanly on
request; a wrong password ends it with a clear line. Loopback only, mDNS off."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

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
