"""A private switched LAN made of network namespaces, for tests that run real nodes on it.

`private_lan(names)` builds, entirely inside namespaces it creates:

- one "switch" namespace holding a Linux bridge (multicast snooping off, so mDNS is
  flooded to every port, as on a dumb office switch);
- one namespace per PC, holding `veth0` with the address 10.231.0.N/24, whose peer
  end was created directly in the switch namespace (`ip link add ... peer ... netns`)
  and enslaved to the bridge. Loopback and the veths are up, with multicast on.

Nothing is ever created in, moved through or configured in the namespace the test
runs in: every `ip` command names its namespace (`ip -n NS ...`), and the PCs'
processes run under `ip netns exec`. `Lan.close` deletes every veth, the bridge and
every namespace, even after a failed setup, and says what it could not remove.

`host_counters` reads the transmit counters of this (the host's) namespace, so a test
can check that nothing it did went out on a real interface; `HostWatch` takes them
before a test (with their own pace, measured while nothing runs) and
`host_sent_nothing` checks them after.

Not here: starting nodes (tests/integration/test_netns_nodes.py) or any traffic.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUBNET = ipaddress.ip_network("10.231.0.0/24")  # private, and unlikely to be a real office's
VETH = "veth0"  # the PC's end of its cable (its own namespace, so the name is free)
BRIDGE = "br0"
LINK_WAIT = 5.0  # seconds the cables may take to come up
IP_TIMEOUT = 10.0  # seconds one `ip` command may take


class LanUnavailable(Exception):
    """This machine cannot make namespaces (not root, no `ip netns`, no permission)."""


def unavailable() -> str | None:
    """Why no private LAN can be made here, or None if it probably can."""
    if sys.platform != "linux":
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "needs iproute2's `ip` command"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, timeout=IP_TIMEOUT,
                           check=False)  # fmt: skip
    if probe.returncode != 0:
        return f"`ip netns` is unavailable: {probe.stderr.decode(errors='replace').strip()}"
    return None


def ip(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `ip ARGS` (bounded); the result, whatever its exit code."""
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=IP_TIMEOUT,
                          check=False)  # fmt: skip


def must(*args: str) -> str:
    """Run `ip ARGS`; its stdout, or RuntimeError naming the command and its complaint."""
    done = ip(*args)
    if done.returncode != 0:
        raise RuntimeError(f"`ip {' '.join(args)}` failed: {done.stderr.strip()}")
    return done.stdout


def namespaces() -> set[str]:
    """The named network namespaces that exist now."""
    return {line.split()[0] for line in must("netns", "list").splitlines() if line.strip()}


def host_addresses() -> set[str]:
    """Every IP address on an interface of the namespace this process runs in."""
    shown: list[dict[str, Any]] = json.loads(must("-j", "addr", "show") or "[]")
    return {str(a["local"]) for link in shown for a in link.get("addr_info", []) if "local" in a}


@dataclass(frozen=True)
class Pc:
    """One PC of the LAN: its namespace, its address, the switch port its cable plugs into."""

    name: str
    netns: str
    address: str
    port: str  # the veth end in the switch namespace

    def exec(self, argv: Sequence[str]) -> list[str]:
        """`argv` run inside this PC's namespace (`ip netns exec`, which execs: same pid)."""
        ip_path = shutil.which("ip") or "ip"
        return [ip_path, "netns", "exec", self.netns, *argv]


@dataclass
class Lan:
    """The switch namespace and the PCs plugged into it."""

    switch: str
    pcs: dict[str, Pc] = field(default_factory=dict)
    _made: list[str] = field(default_factory=list)  # namespaces we created, in order

    def addresses(self) -> set[str]:
        return {pc.address for pc in self.pcs.values()}

    def cut(self, name: str) -> None:
        """Unplug `name`'s cable (its end goes down: no carrier on either side)."""
        must("-n", self.pcs[name].netns, "link", "set", VETH, "down")

    def heal(self, name: str) -> None:
        """Plug `name`'s cable back in and wait (bounded) until it carries again."""
        must("-n", self.pcs[name].netns, "link", "set", VETH, "up")
        self._wait_carrier([self.pcs[name]])

    # -- building ----------------------------------------------------------------------
    def _add_netns(self, netns: str) -> None:
        done = ip("netns", "add", netns)
        if done.returncode != 0:
            raise LanUnavailable(f"cannot create a network namespace: {done.stderr.strip()}")
        self._made.append(netns)

    def _build(self, names: Sequence[str]) -> None:
        self._add_netns(self.switch)
        must("-n", self.switch, "link", "add", BRIDGE, "type", "bridge", "mcast_snooping", "0")
        must("-n", self.switch, "link", "set", BRIDGE, "up")
        hosts = SUBNET.hosts()
        tag = self.switch.removeprefix("ovsw-")
        for index, name in enumerate(names, 1):
            pc = Pc(name, f"ovpc{index}-{tag}", str(next(hosts)), f"port{index}")
            self._add_netns(pc.netns)
            self.pcs[name] = pc
            # Both ends are born in namespaces of ours: the host's never sees this cable.
            must("-n", pc.netns, "link", "add", VETH, "type", "veth",
                 "peer", "name", pc.port, "netns", self.switch)  # fmt: skip
            must("-n", self.switch, "link", "set", pc.port, "master", BRIDGE)
            must("-n", self.switch, "link", "set", pc.port, "up")
            must("-n", pc.netns, "link", "set", "lo", "multicast", "on")
            must("-n", pc.netns, "link", "set", "lo", "up")
            must("-n", pc.netns, "addr", "add", f"{pc.address}/{SUBNET.prefixlen}", "dev", VETH)
            must("-n", pc.netns, "link", "set", VETH, "multicast", "on")
            must("-n", pc.netns, "link", "set", VETH, "up")
        self._wait_carrier(list(self.pcs.values()))

    def _wait_carrier(self, pcs: Sequence[Pc]) -> None:
        deadline = time.monotonic() + LINK_WAIT
        while True:
            down = [pc.name for pc in pcs if not _carries(pc.netns, VETH)]
            if not down:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"cables of {down} not up after {LINK_WAIT:.0f} s")
            time.sleep(0.05)

    # -- tearing down ------------------------------------------------------------------
    def close(self) -> None:
        """Delete every veth, the bridge and every namespace made here; RuntimeError if any stays.

        Each step is tried whatever the others did. Deleting a namespace would take
        its devices with it; they are deleted first anyway, so that a namespace kept
        alive by a straggling process does not keep a cable plugged into the switch.
        """
        for pc in self.pcs.values():
            ip("-n", pc.netns, "link", "del", VETH)  # takes its peer in the switch with it
        if self.switch in self._made:
            ip("-n", self.switch, "link", "del", BRIDGE)
        for netns in reversed(self._made):
            ip("netns", "del", netns)
        left = set(self._made) & namespaces()
        if left:
            raise RuntimeError(f"network namespaces left behind: {sorted(left)}")


def _carries(netns: str, device: str) -> bool:
    done = ip("-n", netns, "-j", "link", "show", device)
    if done.returncode != 0:
        return False
    shown: list[dict[str, Any]] = json.loads(done.stdout or "[]")
    return bool(shown) and "LOWER_UP" in shown[0].get("flags", [])


@contextmanager
def private_lan(names: Sequence[str]) -> Iterator[Lan]:
    """A switch and one PC per name, each with its address; all of it removed afterwards.

    Raises LanUnavailable (before anything is left behind) if namespaces cannot be made.
    """
    if len(names) > 250:
        raise ValueError("one /24 holds at most 250 PCs here")
    lan = Lan(switch=f"ovsw-{os.getpid() % 100000}{secrets.token_hex(2)}")
    try:
        lan._build(names)
        yield lan
    finally:
        lan.close()


# -- what went out on the host's own interfaces -------------------------------------------
NET_SYS = Path("/sys/class/net")


def host_counters() -> dict[str, int]:
    """Packets sent so far by each interface of this namespace but loopback.

    Loopback is left out on purpose: it is not a wire, and other tests may use it.
    """
    return {
        device.name: int((device / "statistics" / "tx_packets").read_text())
        for device in sorted(NET_SYS.iterdir())
        if device.name != "lo"
    }


def increase(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """How much each counter grew (an interface that appeared counts from zero)."""
    return {name: after[name] - before.get(name, 0) for name in after}


PROBE = 1.0  # seconds the host's counters are watched before anything starts
NOISE = 10  # packets any host counter may grow by anyway (ARP, NTP, ... of the machine)
BUSY = 20.0  # packets per second: above this during the probe, the counters prove nothing


@dataclass(frozen=True)
class HostWatch:
    """The host's transmit counters before the test, and how fast they moved on their own."""

    before: dict[str, int]
    since: float
    rates: dict[str, float]  # packets per second during the probe

    def busy(self) -> bool:
        return any(rate > BUSY for rate in self.rates.values())


def watch_host() -> HostWatch:
    """The host's counters, and their own pace over PROBE seconds of doing nothing."""
    first = host_counters()
    time.sleep(PROBE)  # a measurement window, not a wait for something
    before = host_counters()
    rates = {name: grown / PROBE for name, grown in increase(first, before).items()}
    return HostWatch(before, time.monotonic(), rates)


def host_sent_nothing(watch: HostWatch) -> None:
    """Network rule, measured: the host's own interfaces sent no more than their usual noise."""
    grown = increase(watch.before, host_counters())
    elapsed = time.monotonic() - watch.since
    if watch.busy():
        # Skipped on purpose: the host was sending more than BUSY packets a second on its own,
        # so its counters cannot tell our packets from the machine's. The other checks remain.
        print(f"host busy ({watch.rates} packets/s): counter check skipped; grew {grown}")
        return
    allowed = {name: NOISE + 2 * watch.rates.get(name, 0.0) * elapsed for name in grown}
    over = {name: n for name, n in grown.items() if n > allowed[name]}
    print(f"host counters grew by {grown} in {elapsed:.0f} s")
    assert not over, f"sent on the host's interfaces in {elapsed:.0f} s: {over} (allowed {allowed})"
