"""node.vault: replicas that hold the same envelopes show the same vault (DESIGN I-1, I-7).

Hypothesis writes random programs for a four-device office: adds by anyone;
edits, trash, restore, purge and conflict resolution by the two admins, each
on an entry the acting replica sees at that moment; between the acts, random
partial deliveries (some envelopes of one replica's log, in any order, with
repeats). Then every replica's log goes to every other, and to a fresh
replica that saw nothing, in a random order with duplicates, and all of them
must agree on the document, the entry lists, the audit trail and every
entry's history. A second property delivers one set of envelopes to two
fresh replicas in two unrelated orders.

Threats covered: delivery order, loss and duplication (the network of a real
office) must never make two honest replicas disagree, lose an edit, or let a
purged entry come back on some replicas only.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

from hypothesis import event, given, settings
from hypothesis import strategies as st

from node.errors import UserError
from node.vault import AuditEvent, Summary, Vault, VersionView
from tests.node.vault_kit import T0, deliver, opened

NAMES = ("alice", "dave", "bob", "carol")
ADMINS = ("alice", "dave")
ACTS = ("add", "add", "edit", "both", "trash", "restore", "purge", "resolve", "send", "send")
FIELDS = ("title", "username", "password", "url", "category", "notes")
WORDS = ("Mail", "Bank", "wifi", "x", "")
STEPS = 30

Vaults = dict[str, Vault]
View = tuple[
    list[tuple[str, bytes]],
    list[Summary],
    list[Summary],
    list[AuditEvent],
    dict[str, list[VersionView]],
]


@contextmanager
def fresh_vaults(
    office: dict[str, Path], names: tuple[str, ...] = NAMES, late: int = 1
) -> Iterator[Vaults]:
    """Copies of the devices `names`, plus `late` copies of carol's that only listen."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = {name: Path(tmp) / name for name in names}
        paths |= {f"late{i}": Path(tmp) / f"late{i}" for i in range(late)}
        for name, path in paths.items():
            shutil.copytree(office[name if name in office else "carol"], path)
        with opened(paths) as vaults:
            yield vaults


def view(vault: Vault) -> View:
    """Everything a replica shows, as plain data."""
    listed = vault.entries() + vault.entries(trash=True)
    return (
        vault.document(),
        vault.entries(),
        vault.entries(trash=True),
        vault.audit(reveal=True),
        {s.id: vault.history(s.id, reveal=True) for s in listed},
    )


# -- one random act -------------------------------------------------------------------


@dataclass
class Program:
    """The replicas a program acts on, and what it has made so far.

    Entry ids are random, so entries are offered to Hypothesis in the order
    they were made (not by id): the same draws then make the same program.
    """

    vaults: Vaults
    made: dict[str, int] = field(default_factory=dict)
    now: int = T0 + 1000

    def pick(self, data: st.DataObject, entries: Iterable[str]) -> str | None:
        """One of `entries`, or None if there are none."""
        offered = sorted(entries, key=lambda e: self.made.get(e, -1))
        return data.draw(st.sampled_from(offered), label="entry") if offered else None


def act(data: st.DataObject, program: Program) -> None:
    """One act (skipped when the facade refuses it as a user error)."""
    kind = data.draw(st.sampled_from(ACTS), label="act")
    if kind == "send":
        send(data, program.vaults)
        return
    if kind == "both":
        both_edit(data, program)
        return
    name = data.draw(st.sampled_from(NAMES if kind == "add" else ADMINS), label="by")
    vault = program.vaults[name]
    try:
        if kind == "add":
            entry = vault.add(draw_fields(data, whole=True), program.now)
            program.made[entry] = len(program.made)
        elif not change(data, program, vault, kind):
            return
    except UserError:
        event(f"{kind}: refused")
    else:
        event(f"{kind}: done")


def draw_fields(data: st.DataObject, whole: bool) -> dict[str, str]:
    names = data.draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3, unique=True))
    values = {n: data.draw(st.sampled_from(WORDS), label=n) for n in names}
    if whole:
        values["title"] = values.get("title") or "Entry"
    return values


def change(data: st.DataObject, program: Program, vault: Vault, kind: str) -> bool:
    """An admin's act on an entry this replica sees now; False if there is none."""
    listed = vault.entries(trash=kind in ("restore", "purge"))
    if kind == "resolve":
        listed = [s for s in vault.entries() + vault.entries(trash=True) if s.conflict]
    entry = program.pick(data, (s.id for s in listed))
    if entry is None:
        return False
    now = program.now
    if kind == "edit":
        vault.edit(entry, draw_fields(data, whole=False), now)
    elif kind == "trash":
        vault.trash(entry, now)
    elif kind == "restore":
        vault.restore(entry, now)
    elif kind == "purge":
        vault.purge(entry, now)
    else:
        labels = [h.label for h in vault.get(entry).heads]
        vault.resolve(entry, data.draw(st.sampled_from(labels), label="keep"), now)
    return True


def both_edit(data: st.DataObject, program: Program) -> None:
    """alice and dave sync, then both edit one entry, neither seeing the other's edit."""
    alice, dave = program.vaults["alice"], program.vaults["dave"]
    deliver(alice, dave)
    deliver(dave, alice)
    entry = program.pick(data, {s.id for s in alice.entries()} & {s.id for s in dave.entries()})
    if entry is None:
        return
    for vault in (alice, dave):
        try:
            vault.edit(entry, draw_fields(data, whole=False), program.now)
        except UserError:
            event("both: an edit refused")
        else:
            event("both: an edit done")


def send(data: st.DataObject, vaults: Vaults) -> None:
    """Some of one replica's envelopes to another: any subset, any order, repeats."""
    source = data.draw(st.sampled_from(NAMES), label="from")
    target = data.draw(st.sampled_from([n for n in NAMES if n != source]), label="to")
    log = vaults[source].op_log()
    if not log:
        return
    whole = data.draw(st.booleans(), label="whole log")
    picks: Sequence[int] = range(len(log))
    if not whole:
        picks = data.draw(st.lists(st.integers(0, len(log) - 1), max_size=6), label="envelopes")
    for i in picks:
        vaults[target].receive(log[i])


def run(data: st.DataObject, vaults: Vaults) -> None:
    program = Program(vaults)
    for _ in range(STEPS):
        act(data, program)
        program.now += data.draw(st.integers(0, 2), label="tick")  # equal times happen too


def everything(vaults: Vaults) -> list[bytes]:
    """The union of every replica's op log, each envelope once."""
    return list(dict.fromkeys(blob for vault in vaults.values() for blob in vault.op_log()))


# -- the properties -----------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_replicas_converge_after_any_program_and_a_full_exchange(
    office: dict[str, Path], data: st.DataObject
) -> None:
    with fresh_vaults(office) as vaults:
        run(data, vaults)
        if any(s.conflict for v in vaults.values() for s in v.entries() + v.entries(trash=True)):
            event("a conflict before the exchange")
        rng = data.draw(st.randoms(use_true_random=False), label="order")
        logs = {name: vaults[name].op_log() for name in NAMES}
        sends = [(t, b) for s, log in logs.items() for t in vaults if t != s for b in log]
        sends += [rng.choice(sends) for _ in range(len(sends) // 2)]  # duplicates
        rng.shuffle(sends)
        for target, blob in sends:
            vaults[target].receive(blob)
        first = view(vaults["alice"])
        for name, vault in vaults.items():
            assert vault.op_log() == vaults["alice"].op_log(), name
            assert view(vault) == first, name


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_the_state_does_not_depend_on_the_delivery_order(
    office: dict[str, Path], data: st.DataObject
) -> None:
    with fresh_vaults(office, late=0) as vaults:
        run(data, vaults)
        blobs = everything(vaults)
    orders = [Random(data.draw(st.integers(0, 2**32), label="seed")) for _ in range(2)]
    with fresh_vaults(office, names=(), late=2) as vaults:
        for order, name in zip(orders, ("late0", "late1"), strict=True):
            shuffled = list(blobs)
            order.shuffle(shuffled)
            for blob in shuffled:
                vaults[name].receive(blob)
            assert sorted(vaults[name].op_log()) == sorted(blobs)
        assert view(vaults["late0"]) == view(vaults["late1"])
