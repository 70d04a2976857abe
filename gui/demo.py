"""Try OfficeVault on one PC: a demo office with sample entries and a second PC beside it.

`officevault gui --demo` (and `scripts/run --demo`) makes, once, a demo office in its
own folder: "you" (the admin whose window opens) and "sam", a second admin PC of the
same office in a folder beside it, enrolled as an invite would enrol him. With the
window open, sam's node runs as a child process and a small script of sam's (this
module, `python -m gui.demo sam FOLDER`) changes an entry every 20 seconds, a bounded
number of times, so the list changes live, a toast says "Office Wi-Fi updated by sam",
and the status bar shows sam online. Everything stays on this PC: both nodes listen on
127.0.0.1 only, with mDNS off, and sam's steps stop with the window.

The demo's password is printed on the unlock screen: it is a demo, not a vault.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from node import onboarding
from node.errors import VaultError
from node.keystore import KdfProfile
from node.tokens import Role
from node.vault import Vault

PASSWORD = "demo-office-password"  # noqa: S105 (a demo, shown on its unlock screen)
SAMPLES = (
    {"title": "Office Wi-Fi", "username": "ACME-Guest", "password": "sunny-harbour-42",
     "category": "Network", "notes": "For visitors; the staff network is ACME-Staff"},
    {"title": "Printer admin page", "username": "admin", "password": "toner-Lamp-93",
     "url": "http://192.168.1.20", "category": "Network"},
    {"title": "Bank (business account)", "username": "acme-ltd", "password": "Q7v!p2-ledger",
     "url": "https://bank.example", "category": "Finance", "notes": "Card reader in the safe"},
    {"title": "Supplier portal", "username": "orders@acme.example", "password": "crate-Violet-5",
     "url": "https://supplier.example", "category": "Suppliers"},
    {"title": "Alarm panel", "username": "", "password": "4711-2580", "category": "Building"},
)  # fmt: skip
SAM_STEPS = 12  # changes sam makes before his script stops
SAM_EVERY = 20.0  # seconds between them
SAM_ADDS = ("Courier account", "Parking permit portal", "Coffee machine service",
            "Insurance portal", "Domain registrar", "Payroll service")  # fmt: skip


@dataclass(frozen=True)
class Demo:
    you: Path  # the window's data folder
    sam: Path  # the second PC's


def folders(base: Path) -> Demo:
    return Demo(base / "you", base / "sam")


def prepare(base: Path, profile: KdfProfile, now: int) -> Demo:
    """The demo office in `base` (made on first use; kept after)."""
    if base.exists():
        return folders(base)
    base.parent.mkdir(parents=True, exist_ok=True)
    making = Path(tempfile.mkdtemp(prefix=f"{base.name}.", suffix=".new", dir=base.parent))
    try:
        _make(folders(making), profile, now)
        making.rename(base)  # all of it or none: an interrupted demo is made again
    finally:
        shutil.rmtree(making, ignore_errors=True)
    return folders(base)


def _make(demo: Demo, profile: KdfProfile, now: int) -> None:
    created = onboarding.create_office(demo.you, "Demo Office", "you", _pw(), now, profile)
    with created.office as office:
        code = office.invite("sam", Role.ADMIN, 3600, now)
        requests: list[bytes] = []
        onboarding.new_device(demo.sam, "sam", _pw(), profile, requests.append)
        welcomes: list[bytes] = []
        office.enroll(str(code), requests[0], now + 1, welcomes.append)
    onboarding.accept_welcome(demo.sam, _pw(), profile, welcomes[0], str(code)).close()
    with Vault.open(demo.you, _pw(), profile) as vault:
        vault.add_many([dict(s) for s in SAMPLES], now + 2)


def _pw() -> bytearray:
    return bytearray(PASSWORD.encode())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SecondPc:
    """sam's node and sam's script, as child processes we started (stopped by PID)."""

    def __init__(self, demo: Demo, env: dict[str, str] | None = None) -> None:
        from gui.node_process import NodeProcess  # noqa: PLC0415

        self.port = free_port()
        options = ("--no-mdns", "--listen", "127.0.0.1", "--port", str(self.port))
        self.node = NodeProcess.start(demo.sam, _pw(), options, env)
        self.script = subprocess.Popen(  # noqa: S603 (this interpreter, this module)
            [sys.executable, "-m", "gui.demo", "sam", str(demo.sam)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=env if env is not None else dict(os.environ), start_new_session=True,
        )  # fmt: skip

    @property
    def node_options(self) -> tuple[str, ...]:
        """The window's node: loopback only, sam's node as its peer."""
        return ("--no-mdns", "--listen", "127.0.0.1", "--peer", f"127.0.0.1:{self.port}")

    def stop(self) -> None:
        if self.script.poll() is None:
            self.script.terminate()
            try:
                self.script.wait(10)
            except subprocess.TimeoutExpired:
                self.script.kill()
                self.script.wait(5)
        self.node.stop()


def sam_step(vault: Vault, step: int, now: int) -> str:
    """sam's change number `step`: the Wi-Fi password changes, or a new entry."""
    if step % 2 == 0:
        wifi = next((s for s in vault.entries() if s.title == "Office Wi-Fi"), None)
        if wifi is not None:
            new = f"sunny-harbour-{secrets.randbelow(90) + 10}"
            vault.edit(wifi.id, {"password": new}, now)
            return "Office Wi-Fi"
    title = SAM_ADDS[(step // 2) % len(SAM_ADDS)]
    vault.add({"title": title, "username": "sam", "password": secrets.token_urlsafe(12),
               "category": "Demo"}, now)  # fmt: skip
    return title


def run_sam(folder: Path, profile: KdfProfile, steps: int, every: float) -> int:
    """sam's script: a change every `every` seconds, `steps` times; stops early if the
    window that started it is gone."""
    parent = os.getppid()
    for step in range(steps):
        time.sleep(every)
        if os.getppid() != parent:
            return 0
        try:
            with Vault.open(folder, _pw(), profile) as vault:
                sam_step(vault, step, int(time.time()))
                vault.office.wake_node()
        except VaultError as exc:
            sys.stderr.write(f"demo: sam's change failed: {exc}\n")
            return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from node import cliutil  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m gui.demo", description=__doc__)
    parser.add_argument("who", choices=["sam"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--steps", type=int, default=SAM_STEPS)
    parser.add_argument("--every", type=float, default=SAM_EVERY)
    args = parser.parse_args(argv)
    return run_sam(args.folder, cliutil.kdf_profile(), args.steps, args.every)


if __name__ == "__main__":
    sys.exit(main())
