"""The deterministic fault simulator: N real nodes in one process, one seed, one verdict.

`Sim(seed, profile, template, workdir).run()` copies the template office,
starts a SimNode per PC and runs virtual time in small steps: frames move
through the seeded network (delay, reordering, loss, duplication,
partitions), each node beats on its wall-clock slot, and a seeded workload
writes through the real Vault facade: adds by anyone, edits, trash and
restore and conflict resolution by admins, concurrent edits of one entry by
two admins, member forgeries (a correctly signed edit a member may not make),
revocations (some of a PC cut off at that moment), crashes with restart from
disk, one PC's clock an hour off, and a new PC joining mid-run. Then the
network heals, crashed PCs restart, and the honest nodes must converge
within a bounded number of heartbeats; tests/sim/checker.py judges the end.

Run one seed (what a failure prints):  python -m tests.sim.run --profile quick --seed 7
The soak runs many: scripts/soak.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crdt import rules
from node import envelopes
from node.errors import VaultError
from node.sync import HEARTBEAT, Send
from node.tokens import Role
from node.versions import Kind
from tests.node import forging
from tests.sim import world
from tests.sim.checker import Confirmed, Truth, check
from tests.sim.net import Faults, Network
from tests.sim.simnode import SimNode

STEP = 0.02  # virtual seconds per step


@dataclass(frozen=True)
class Profile:
    name: str
    nodes: int
    admins: int
    seconds: float  # virtual time of faults and writes, before the heal
    ops_per_second: float
    loss: float
    dup: float
    max_delay: float
    partitions: bool
    crashes: int
    skew: float  # one PC's clock is this many seconds off (either way)
    revocations: int
    joins: int
    forgeries: bool
    settle_rounds: int  # heartbeats after the heal within which all must converge


PROFILES = {
    "quick": Profile("quick", nodes=6, admins=2, seconds=30.0, ops_per_second=4.0, loss=0.1,
                     dup=0.05, max_delay=0.3, partitions=True, crashes=2, skew=3601.3,
                     revocations=1, joins=1, forgeries=True, settle_rounds=8),
    "soak": Profile("soak", nodes=30, admins=3, seconds=100.0, ops_per_second=12.0, loss=0.1,
                    dup=0.05, max_delay=0.3, partitions=True, crashes=12, skew=3601.3,
                    revocations=3, joins=2, forgeries=True, settle_rounds=8),
}  # fmt: skip

WEIGHTS = {"add": 40, "edit": 25, "concurrent": 6, "trash": 5, "restore": 4, "resolve": 6,
           "forgery": 6}  # fmt: skip


@dataclass
class Result:
    seed: int
    profile: str
    writes: int = 0  # writes the vault confirmed
    refused: int = 0  # writes the vault refused (a user error: not confirmed)
    forgeries: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    rounds: int = -1  # heartbeats after the heal until converged (-1: never)
    violations: list[str] = field(default_factory=list)
    digest: str = ""  # of the first honest node's document at the end (same seed, same digest)
    seconds: float = 0.0

    def replay(self) -> str:
        return f"python -m tests.sim.run --profile {self.profile} --seed {self.seed}"

    def line(self) -> str:
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items()))
        verdict = "ok" if not self.violations else f"{len(self.violations)} VIOLATIONS"
        return (f"seed {self.seed}: {self.writes} writes ({self.refused} refused), "
                f"{self.forgeries} forgeries; faults: {faults}; converged after {self.rounds} "
                f"heartbeats; {verdict} ({self.seconds:.1f} s)")  # fmt: skip


class Sim:
    def __init__(self, seed: int, profile: Profile, template: list[Path], workdir: Path) -> None:
        self.seed = seed
        self.profile = profile
        self.rng = random.Random(seed)
        self.net = Network(random.Random(seed * 7919 + 1),
                           Faults(profile.loss, profile.dup, 0.001, profile.max_delay))  # fmt: skip
        self.workdir = workdir
        self.now = 0.0
        paths = world.copy(template, workdir)
        skewed, sign = self.rng.randrange(len(paths)), self.rng.choice((-1, 1))
        self.nodes = {
            p.name: SimNode(p.name, p, sign * profile.skew if i == skewed else 0.0,
                            Role.ADMIN if i < profile.admins else Role.MEMBER)
            for i, p in enumerate(paths)
        }  # fmt: skip
        self.truth = Truth()
        self.by_device: dict[bytes, str] = {}
        self.entries: list[str] = []  # entry ids, in the order they were added
        self.confirmed: list[Confirmed] = []
        self.result = Result(seed, profile.name)
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._k = 0

    def clock(self) -> float:
        return self.now

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> Result:
        started = time.monotonic()
        with world.seeded_crypto(self.seed):
            try:
                for node in self.nodes.values():
                    self._start(node)
                self._schedule()
                while self.now < self.profile.seconds:
                    self._step(writes=True)
                self._heal()
                self.result.rounds = self._settle()
                honest = self._honest()
                self.result.violations = check(honest, self.confirmed, self.truth)
                if honest and honest[0].vault is not None:
                    doc = honest[0].vault.document()
                    self.result.digest = hashlib.sha256(repr(doc).encode()).hexdigest()
                if self.result.rounds < 0:
                    self.result.violations.append(
                        f"not converged {self.profile.settle_rounds} heartbeats after the heal"
                    )
            finally:
                for node in self.nodes.values():
                    node.stop()
        self.result.seconds = time.monotonic() - started
        return self.result

    def _step(self, writes: bool) -> None:
        self.now += STEP
        for src, dst, frame in self.net.due(self.now):
            self._deliver(src, dst, frame)
        for node in list(self.nodes.values()):
            if node.up:
                self._route(node, node.tick(self.now))
        while self._events and self._events[0][0] <= self.now:
            _, _, event = self._events.pop(0)
            event()
        if writes and self.rng.random() < self.profile.ops_per_second * STEP:
            self._write()
        for node in self.nodes.values():
            if node.up and node.wiped:  # it heard of its own revocation: it locks and wipes
                node.stop()
                self.result.faults["wiped"] += 1

    def _heal(self) -> None:
        self.net.heal()
        self.net.faults = Faults(0.0, 0.0, 0.001, self.profile.max_delay)
        for node in self.nodes.values():
            if not node.up and not node.wiped:
                self._start(node)
        self._events.clear()

    def _settle(self) -> int:
        """Heartbeats until every honest node holds the same (-1 if not within the bound)."""
        for beat in range(1, self.profile.settle_rounds + 1):
            self._beat()
            if self._converged():
                self._beat()  # what was still in flight must not change the verdict
                return beat if self._converged() else -1
        return -1

    def _beat(self) -> None:
        end = self.now + HEARTBEAT
        while self.now < end:
            self._step(writes=False)

    def _converged(self) -> bool:
        honest = self._honest()
        if not honest:
            return False
        first = honest[0]
        assert first.vault is not None and first.core is not None
        log, doc = set(first.vault.op_log()), first.vault.document()
        blobs, leader = set(first.vault.office.blobs), first.core.leader
        checkpoint = first.core.checkpoint
        for n in honest[1:]:
            assert n.vault is not None and n.core is not None
            same = (set(n.vault.op_log()) == log and n.vault.document() == doc
                    and set(n.vault.office.blobs) == blobs and n.core.leader == leader
                    and n.core.checkpoint == checkpoint)  # fmt: skip
            if not same:
                return False
        return True

    def _honest(self) -> list[SimNode]:
        """Up, not wiped, and not revoked by the membership the (first) up node holds."""
        up = [n for n in self.nodes.values() if n.up and not n.wiped]
        if not up:
            return []
        assert up[0].vault is not None
        state = up[0].vault.office.membership.state
        return [n for n in up if n.device not in state.revoked]

    # -- frames ------------------------------------------------------------------------------
    def _start(self, node: SimNode) -> None:
        node.start(self.now, self.clock)
        self.by_device[node.device] = node.name
        self.truth.roles.setdefault(node.device, node.role)
        for other in self.nodes.values():
            if other is not node and other.up:
                self._route(node, node.connected(other.device, self.now))
                self._route(other, other.connected(node.device, self.now))

    def _deliver(self, src: str, dst: str, frame: bytes) -> None:
        source, target = self.nodes[src], self.nodes[dst]
        if not target.up or not source.device:
            return
        if not target.accepts(source.device):
            self.result.faults["refused_frames"] += 1
            return
        self._route(target, target.receive(source.device, frame, self.now))

    def _route(self, node: SimNode, sends: list[Send]) -> None:
        for send in sends:
            dst = self.by_device.get(send.peer)
            if dst is not None and node.may_send(send.peer, self.now):
                self.net.send(node.name, dst, send.frame, self.now)

    # -- faults --------------------------------------------------------------------------------
    def _at(self, when: float, event: Callable[[], None]) -> None:
        self._k += 1
        self._events.append((when, self._k, event))
        self._events.sort()

    def _schedule(self) -> None:
        p, rng, end = self.profile, self.rng, self.profile.seconds
        if p.partitions:
            t = rng.uniform(2, 6)
            while t < end - 2:
                self._at(t, self._partition)
                t += rng.uniform(2, 6)
                self._at(t, self._whole)
                t += rng.uniform(3, 8)
        for _ in range(p.crashes):
            t = rng.uniform(1, end - 2)
            name = rng.choice(sorted(self.nodes))
            self._at(t, functools.partial(self._crash, name))
            self._at(t + rng.uniform(1, 8), functools.partial(self._restart, name))
        for _ in range(p.revocations):
            cut_off = rng.random() < 0.5  # the revoked PC is partitioned away at that moment
            self._at(rng.uniform(3, end - 3), functools.partial(self._revoke, cut_off))
        for _ in range(p.joins):
            self._at(rng.uniform(3, end - 3), self._join)

    def _partition(self) -> None:
        self.net.partition(sorted(self.nodes))
        self.result.faults["partitions"] += 1

    def _whole(self) -> None:
        self.net.heal()

    def _crash(self, name: str) -> None:
        node = self.nodes[name]
        if node.up:
            node.crash()
            self.result.faults["crashes"] += 1

    def _restart(self, name: str) -> None:
        node = self.nodes[name]
        if not node.up and not node.wiped:
            self._start(node)

    def _revoke(self, cut_off: bool) -> None:
        admins = [n for n in self._writers() if _role(n) is Role.ADMIN]
        if not admins:
            return
        revoker = self.rng.choice(admins)
        assert revoker.vault is not None
        state = revoker.vault.office.membership.state
        members = sorted(m.user for m in state.active_members() if m.role is Role.MEMBER)
        if len(members) < 2:
            return
        target = self.nodes[self.rng.choice(members)]
        # what the simulation expects the cut-off to be: all of the target's envelopes this
        # admin holds with no gap (read here, before the product's own revoke reads it)
        cutoff = revoker.vault.office.store.contiguous_seq(target.device)
        try:
            revoker.vault.office.revoke(target.name, revoker.wall(self.now))
        except VaultError:  # e.g. the revoker's clock is behind the office's newest record
            self.result.faults["revocations_refused"] += 1
            return
        # Two admins may revoke one device without knowing of each other (a partition): the
        # design keeps the lower cut-off (node/membership_state.py), dropping what only one
        # of them vouched for.
        earlier = self.truth.cutoffs.get(target.device)
        self.truth.cutoffs[target.device] = cutoff if earlier is None else min(earlier, cutoff)
        self.result.faults["revocations"] += 1
        if cut_off:  # the revoked PC is cut off at that moment and goes on writing
            self.net.groups = [{target.name}, set(self.nodes) - {target.name}]
            self.result.faults["revoked_while_cut_off"] += 1
        self._route(revoker, revoker.acted(self.now))

    def _join(self) -> None:
        leaders = [n for n in self._writers() if n.core is not None and n.core.leader == n.device]
        if not leaders:
            return
        leader = leaders[0]
        assert leader.vault is not None
        name = world.name_of(len(self.nodes))
        path = self.workdir / name
        try:
            world.enrol(leader.vault.office, path, name, Role.MEMBER, leader.wall(self.now))
        except VaultError:  # e.g. the leader's clock is behind the office's newest record
            self.result.faults["joins_refused"] += 1
            return
        self._route(leader, leader.acted(self.now))
        self.nodes[name] = SimNode(name, path, role=Role.MEMBER)
        self._start(self.nodes[name])
        self.result.faults["joins"] += 1

    # -- the workload --------------------------------------------------------------------------
    def _writers(self) -> list[SimNode]:
        return [n for n in self.nodes.values() if n.up and not n.wiped]

    def _write(self) -> None:
        kinds, weights = zip(*WEIGHTS.items(), strict=True)
        kind = self.rng.choices(kinds, weights)[0]
        if kind == "forgery" and not self.profile.forgeries:
            kind = "add"
        writers = self._writers()
        if kind in ("edit", "concurrent", "trash", "restore", "resolve"):
            writers = [n for n in writers if _role(n) is Role.ADMIN]
        elif kind == "forgery":
            writers = [n for n in writers if _role(n) is Role.MEMBER]
        if not writers or (kind != "add" and not self.entries):
            return
        self._k += 1
        if kind == "concurrent":
            if len(writers) < 2:
                return
            entry = self.rng.choice(self.entries)
            for node in self.rng.sample(writers, 2):
                self._do(node, "edit", entry)
        else:
            entry = self.rng.choice(self.entries) if self.entries else ""
            self._do(self.rng.choice(writers), kind, entry)

    def _do(self, node: SimNode, kind: str, entry: str) -> None:
        vault = node.vault
        assert vault is not None
        wall, before = node.wall(self.now), node.seq()
        try:
            if kind == "add":
                entry = vault.add({"title": f"t{self._k}", "password": f"p{self._k}"}, wall)
                self.entries.append(entry)
            elif kind == "edit":
                vault.edit(entry, {"password": f"v{self._k}"}, wall)
            elif kind == "trash":
                vault.trash(entry, wall)
            elif kind == "restore":
                vault.restore(entry, wall)
            elif kind == "resolve":
                conflicted = [s.id for s in vault.entries() if s.conflict]
                if not conflicted:
                    return
                entry = self.rng.choice(conflicted)
                heads = vault.get(entry).heads
                vault.resolve(entry, self.rng.choice(heads).label, wall)
            elif kind == "forgery":
                self._forge(node, entry, wall)
                return
        except VaultError as exc:
            self.result.refused += 1
            if "capability window" in str(exc):  # an admin whose clock is ahead enrolled it
                self.result.faults["writes_refused_by_a_clock"] += 1
            return
        fresh, sends = node.wrote(before, self.now)
        self.confirmed.append(Confirmed(node.name, node.device, tuple(fresh), kind, entry))
        self.result.writes += 1
        self._route(node, sends)

    def _forge(self, node: SimNode, entry: str, wall: int) -> None:
        """A member signs an edit of someone's entry (its app would refuse to) and pushes it;
        its own node holds it too, so its later envelopes follow it, not fork it."""
        vault = node.vault
        assert vault is not None and node.core is not None
        try:
            state = vault._find(entry, include_trash=True)
        except VaultError:
            return
        client = envelopes.client_id_of(node.device)
        clock = vault._replica.doc.next_clock()
        try:
            fields = forging.forged_fields(vault, state.entry_id)
        except KeyError:  # it holds no current vault key (it was revoked): nothing to forge with
            return
        value = forging.version(vault, Kind.EDIT, state.entry_id, wall, base=(state.current.key,),
                                fields=fields)  # fmt: skip
        update = forging.y_update(client, clock, rules.version_key(client, clock), value)
        blob = forging.sign(vault, update, wall, node.seq() + 1)
        vault.receive(blob)
        self.result.forgeries += 1
        self._route(node, node.core.local([blob], self.now))


def _role(node: SimNode) -> Role | None:
    return None if node.vault is None else node.vault.role


# -- the command line --------------------------------------------------------------------------
_TEMPLATES: dict[tuple[int, int], list[Path]] = {}


def template_for(profile: Profile, base: Path) -> list[Path]:
    """The profile's office, made once per process under `base`."""
    shape = (profile.nodes, profile.admins)
    if shape not in _TEMPLATES:
        made = base / f"template-{profile.nodes}-{profile.admins}"
        made.mkdir(parents=True)
        _TEMPLATES[shape] = world.template(made, profile.nodes, profile.admins)
    return _TEMPLATES[shape]


def run_seed(seed: int, profile: Profile, base: Path) -> Result:
    workdir = base / f"seed-{seed}"
    workdir.mkdir(parents=True)
    return Sim(seed, profile, template_for(profile, base), workdir).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the fault simulator for some seeds.")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    parser.add_argument("--seed", type=int, default=None, help="one seed (a failure's replay)")
    parser.add_argument("--seeds", type=int, default=1, help="run seeds 0..N-1")
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile]
    seeds = [args.seed] if args.seed is not None else list(range(args.seeds))
    failed = 0
    with tempfile.TemporaryDirectory(prefix="ov-sim-") as tmp:
        for seed in seeds:
            result = run_seed(seed, profile, Path(tmp))
            print(result.line(), flush=True)
            for violation in result.violations:
                print(f"  {violation}")
            if result.violations:
                failed += 1
                print(f"  replay: {result.replay()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
