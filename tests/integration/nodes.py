"""Real `officevault node` processes on 127.0.0.1, and the console scripts run beside them.

`LoopbackOffice` copies vault_kit's template office (admins alice and dave, members bob
and carol) into a test's folder, picks free loopback ports, starts one `officevault node`
per chosen device, each given every other device's address as a static peer, and runs
`officevault` / `vault-admin` at a device's data dir while the nodes run, as a person
would. `running_office` stops every node it started, always.

Every wait here is bounded (`WAIT` seconds at most) and polls; nodes also get
--max-seconds, so none outlives a test run that was itself killed. Only processes
started here are ever signalled, through their `Popen` objects. Nothing listens or
connects beyond 127.0.0.1 (every node gets --listen 127.0.0.1 and --no-mdns: mDNS is on
by default, on every interface, so leaving the flag out would multicast on the host's).

The commands take a faked clock (OFFICEVAULT_NOW) inside the kit's capabilities, which
begin at vault_kit.T0 whatever the real clock says. This module asserts nothing about
the vault; the tests do.
"""

from __future__ import annotations

import itertools
import json
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

from tests import clirun
from tests.clirun import Proc, ok, ok_json
from tests.node import vault_kit

HOST = "127.0.0.1"
WAIT = 10.0  # seconds: the longest any single wait may take
EVERY = 0.1  # seconds between two looks
NODE_MAX_SECONDS = 50.0  # the safety net: a node stops by itself after this long
SECRET = "Sw0rdf1sh-loopback-secret"

T = TypeVar("T")
Listing = list[dict[str, Any]]


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports nobody listened on a moment ago."""
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind((HOST, 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def wait_for(what: str, check: Callable[[], T | None], timeout: float = WAIT) -> tuple[T, float]:
    """Poll `check` every EVERY seconds until it returns something other than None.

    Returns that value and the seconds it took; fails the test after `timeout`.
    """
    start = time.monotonic()
    while True:
        found = check()
        elapsed = time.monotonic() - start
        if found is not None:
            return found, elapsed
        if elapsed > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(EVERY)


def holds_for(what: str, check: Callable[[], str | None], seconds: float) -> int:
    """Check, every EVERY seconds for `seconds`, that nothing is wrong (`check` says what is).

    For what must never happen: a window long enough for the nodes to have
    passed it on (several heartbeats). Returns how many looks were taken.
    """
    start = time.monotonic()
    looks = 0
    while True:
        wrong = check()
        looks += 1
        if wrong is not None:
            raise AssertionError(f"{what}: {wrong} ({time.monotonic() - start:.1f} s in)")
        if time.monotonic() - start > seconds:
            return looks
        time.sleep(EVERY)


class NodeProcess:
    """One `officevault node` we started; its stderr goes to `log_path`."""

    def __init__(self, name: str, args: list[str], cwd: Path, env: dict[str, str],
                 log_path: Path) -> None:  # fmt: skip
        self.name = name
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("wb")
        try:
            self.proc = subprocess.Popen(
                args,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._log,
            )
        except BaseException:
            self._log.close()
            raise

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, fragment: str, timeout: float = WAIT) -> float:
        """Wait until the log holds `fragment`; fail at once if the node exits without it."""

        def logged() -> bool | None:
            text = self.log()
            if fragment in text:
                return True
            code = self.proc.poll()
            if code is not None:
                raise AssertionError(
                    f"{self.name}'s node exited ({code}) without logging {fragment!r}:\n{text}"
                )
            return None

        return wait_for(f"{self.name}'s node to log {fragment!r}", logged, timeout)[1]

    def wait_exit(self, timeout: float = WAIT) -> int:
        """Wait for the node to end by itself; its exit code."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name}'s node still runs after {timeout:.0f} s:\n{self.log()}"
            ) from None

    def stop(self, timeout: float = WAIT) -> int:
        """SIGTERM, as an OS shutdown would send; the exit code of a node that obeys in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def close(self) -> None:
        """Make sure the process is gone (SIGTERM, then SIGKILL), and close its log."""
        try:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(WAIT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(WAIT)
        finally:
            self._log.close()


def stop_all(nodes: Iterable[NodeProcess]) -> None:
    """Stop every node given (each is tried even if another fails to stop)."""
    nodes = list(nodes)
    for node in nodes:
        if node.proc.poll() is None:
            node.proc.send_signal(signal.SIGTERM)  # all at once: they stop side by side
    with ExitStack() as stack:
        for node in nodes:
            stack.callback(node.close)


class LoopbackOffice:
    """Copies of the kit's data dirs, their loopback ports, and the nodes started on them."""

    def __init__(self, kit: dict[str, Path], root: Path) -> None:
        self.root = root
        self.paths = vault_kit.replicas(kit, root / "devices")
        self.pw = clirun.write(root / "password.txt", vault_kit.PASSWORD + "\n")
        self.env = clirun.environment()
        names = list(self.paths)
        ports = free_ports(2 * len(names))
        self.ports = dict(zip(names, ports[: len(names)], strict=True))
        self.join_ports = dict(zip(names, ports[len(names) :], strict=True))
        self.nodes: dict[str, NodeProcess] = {}
        self._runs = itertools.count(1)
        self._clock = itertools.count(vault_kit.T0 + 1000, 10)

    def now(self) -> int:
        """The next moment to act at: inside every kit capability, later than the last."""
        return next(self._clock)

    # -- nodes -------------------------------------------------------------------------
    def start(self, *names: str) -> None:
        """Start the nodes of `names` together; return once each logs that it listens."""
        for name in names:
            if name in self.nodes and self.nodes[name].proc.poll() is None:
                raise RuntimeError(f"{name}'s node is already running")
            peers = [f"--peer={HOST}:{port}" for other, port in self.ports.items() if other != name]
            args = ["officevault", "node", "--listen", HOST, "--port", str(self.ports[name]),
                    "--no-mdns", "--join-port", str(self.join_ports[name]), *peers,
                    "--max-seconds", str(NODE_MAX_SECONDS), *self.common(name)]  # fmt: skip
            old = self.nodes.pop(name, None)
            if old is not None:
                old.close()
            log = self.root / f"{name}-node-{next(self._runs)}.log"
            self.nodes[name] = NodeProcess(name, args, self.root, self.env, log)
        for name in names:
            self.nodes[name].wait_log(f"listening on {HOST}:{self.ports[name]}")

    def wait_linked(self) -> None:
        """Wait until every running node has seen every other running node online."""
        running = [n for n, node in self.nodes.items() if node.proc.poll() is None]
        for name in running:
            for other in running:
                if other != name:
                    self.nodes[name].wait_log(f"peer online: {other} (")

    def close(self) -> None:
        stop_all(self.nodes.values())

    # -- the console scripts -----------------------------------------------------------
    def common(self, name: str) -> list[str]:
        return ["--data-dir", str(self.paths[name]), "--password-file", str(self.pw)]

    def run(self, prog: str, name: str, *args: str, stdin: str = "", now: int | None = None,
            ) -> Proc:  # fmt: skip
        """`prog args` at `name`'s data dir, with `stdin` as input; bounded by WAIT."""
        env = dict(self.env)
        if now is not None:
            env["OFFICEVAULT_NOW"] = str(now)
        return subprocess.run(
            [prog, *args, *self.common(name)],
            cwd=self.root,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )

    def cli(self, name: str, *args: str, stdin: str = "", now: int | None = None) -> Proc:
        return self.run("officevault", name, *args, stdin=stdin, now=now)

    def admin(self, name: str, *args: str, now: int | None = None) -> Proc:
        return self.run("vault-admin", name, *args, now=now)

    def add(self, name: str, title: str) -> str:
        """`officevault add` at `name`'s data dir (password on stdin); the new entry's id."""
        proc = ok(self.cli(name, "add", f"--title={title}", "--password-stdin",
                           stdin=SECRET, now=self.now()))  # fmt: skip
        entry = proc.stdout.strip()
        assert clirun.HEX32.fullmatch(entry), proc.stdout
        return entry

    def each(self, names: Sequence[str], *args: str, prog: str = "officevault") -> dict[str, Any]:
        """`prog ARGS --json` at each of `names`; each one's JSON.

        Reads run the console script's own `main` in this process (tests/clirun.py's
        `run_in_process`): thirty times faster than a subprocess, so a poll every
        EVERY seconds sees a change within about that long. Acts run as subprocesses.
        """
        out = {}
        for name in names:
            argv = (*args, "--json", *self.common(name))
            out[name] = ok_json(clirun.run_in_process(prog, self.root, self.env, *argv))
        return out

    def until_revoked(self, names: Sequence[str], user: str) -> float:
        """Wait until the data dirs of `names` all know that `user` was revoked; seconds taken."""

        def revoked() -> bool | None:
            views = self.each(names, "users", prog="vault-admin")
            states = [u["active"] for v in views.values() for u in v["users"] if u["user"] == user]
            return True if states and not any(states) else None

        return wait_for(f"{', '.join(names)} to know {user} was revoked", revoked)[1]

    def listings(self, names: Sequence[str]) -> dict[str, Listing]:
        """`officevault ls --json` at each of `names` (concurrently)."""
        return self.each(names, "ls")

    def until_all(
        self, what: str, names: Sequence[str], seen: Callable[[Listing], bool]
    ) -> dict[str, float]:
        """Poll the listings of `names` until `seen` holds for each; seconds each one took.

        A time is when the look that first saw it ended (looks are EVERY apart).
        """
        start = time.monotonic()
        took: dict[str, float] = {}
        last: dict[str, Listing] = {}

        def all_seen() -> dict[str, float] | None:
            pending = [n for n in names if n not in took]
            last.update(self.listings(pending))
            for name in pending:
                if seen(last[name]):
                    took[name] = round(time.monotonic() - start, 2)
            return took if len(took) == len(names) else None

        try:
            return wait_for(what, all_seen)[0]
        except AssertionError as exc:
            missing = {n: last.get(n) for n in names if n not in took}
            raise AssertionError(f"{exc}; reached {took}, not {json.dumps(missing)}") from None


def titles(listing: Listing) -> dict[str, str]:
    """Entry id -> title."""
    return {row["id"]: row["title"] for row in listing}


@contextmanager
def running_office(
    kit: dict[str, Path], root: Path, names: Sequence[str]
) -> Iterator[LoopbackOffice]:
    """The kit's office at `root`, the nodes of `names` running and linked; all stopped after."""
    office = LoopbackOffice(kit, root)
    try:
        office.start(*names)
        office.wait_linked()
        yield office
    finally:
        office.close()
