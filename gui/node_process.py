"""This PC's sync node beside the window: `officevault node` in a child process.

The window and its node share the data folder exactly as a CLI and a node do (SQLCipher
in WAL mode; the window's saves wake the node by the data dir's poke), so the window's
thread never waits on the network and a node crash never takes the window down. The
password reaches the child through a pipe (`--password-file -`), never a file, and is
wiped here at once. The node logs (never a secret) to node.log in the data folder.
Exit code 3 means the node learnt this device was revoked and wiped the vault.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REVOKED = 3
LOG = "node.log"


class NodeProcess:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc

    @classmethod
    def start(
        cls, path: Path, password: bytearray, options: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> NodeProcess:  # fmt: skip
        """Start the node for the data folder `path` (`options`: `officevault node`'s)."""
        argv = [sys.executable, "-m", "node.cli", "node", "--data-dir", str(path),
                "--password-file", "-", "--with-parent", str(os.getpid()), *options]  # fmt: skip
        try:
            with (path / LOG).open("ab") as log:
                proc = subprocess.Popen(  # noqa: S603 (this interpreter, our own module)
                    argv, stdin=subprocess.PIPE, stdout=log, stderr=log,
                    env=env if env is not None else dict(os.environ), start_new_session=True,
                )  # fmt: skip
            assert proc.stdin is not None
            try:
                proc.stdin.write(bytes(password) + b"\n")
                proc.stdin.close()
            except OSError:  # the child ended at once: reap it; it says why in node.log
                proc.kill()
                proc.wait(5)
        finally:
            password[:] = bytes(len(password))
        return cls(proc)

    @property
    def running(self) -> bool:
        return self._proc.poll() is None

    @property
    def revoked(self) -> bool:
        """The node stopped because this device was revoked (it wiped the vault)."""
        return self._proc.poll() == REVOKED

    def stop(self, timeout: float = 15.0) -> int:
        """Ask the node to stop (SIGTERM: it finishes what it is doing), then wait."""
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        return int(self._proc.returncode)
