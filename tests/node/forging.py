"""The forging kit for the vault's forgery and tampering tests: an office of real devices,
what a hostile enrolled device can build with its own keys, and the checks that every
replica ends with the legitimate state only.

The office comes in three copies (`World`): the "authors", who write the legitimate
changes and whose alice is the baseline every replica must match exactly; the
replicas alice, dave and carol, who judge what they are fed; and a fresh copy of
carol that syncs from carol's op log at the end. Forgeries are built at the update
level, never through the `Vault` facade: hand-made Y update bytes (`y_update`),
versions (`version`, `own_add`), sealed fields and envelopes signed with the
attacker's real device key (`sign`). `feed` delivers an `Attack` to every replica
before, between or after the legitimate envelopes it attacks.

Fixtures are not defined here: each test module wraps `office_template` and
`open_world` in its own (tests/node/test_vault_forgeries.py, test_vault_tampering.py).
The attacks themselves, and the tests, live in those modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from crdt import yupdate
from crdt.vaultdoc import VaultDoc
from node import crypto, envelopes, versions
from node.entry_fields import FIELDS, check_fields
from node.oplog import Judge, Verdict
from node.vault import Vault
from node.versions import Kind
from tests.node import vault_kit as kit

T1, T2, T3, T4 = (kit.T0 + 1000 * i for i in (1, 2, 3, 4))
FORGED = "FORGED-BY-THE-ATTACKER"  # in every forged field: it must never show anywhere


# -- the office: authors (who write the legitimate changes) and replicas (who judge) -------
def office_template(base: Path) -> dict[str, Path]:
    """`vault_kit.template` under `base`, each device opened once (wrap it in a module fixture)."""
    paths = kit.template(base)
    with kit.opened(paths):
        pass  # each device stores its first snapshot, so later opens and closes are quick
    return paths


class Opened(dict[str, Vault]):
    """Vaults opened on first use (opening is what a test spends its time on)."""

    def __init__(self, paths: dict[str, Path], stack: ExitStack, synced: bool) -> None:
        super().__init__()
        self._paths, self._stack, self._synced = paths, stack, synced

    def __missing__(self, name: str) -> Vault:
        vault = self._stack.enter_context(Vault.open(self._paths[name], kit.pw(), kit.PROFILE))
        if self._synced:  # an author opened late first catches up with the others
            for other in self.values():
                kit.deliver(other, vault)
        self[name] = vault
        return vault


@dataclass
class World:
    authors: Opened  # alice, dave, bob: one copy of the office
    replicas: Opened  # alice, dave, carol: another copy, fed in the chosen order
    spare: Opened  # "fresh": a third copy of carol, synced from carol's op log at the end

    @property
    def baseline(self) -> Vault:
        return self.authors["alice"]

    @property
    def fresh(self) -> Vault:
        return self.spare["fresh"]

    def judges(self) -> list[Vault]:
        return [self.replicas[name] for name in ("alice", "dave", "carol")]

    def every_replica(self) -> list[Vault]:
        return [*self.judges(), self.fresh]


@contextmanager
def open_world(template: dict[str, Path], tmp_path: Path) -> Iterator[World]:
    """Three fresh copies of `template` under `tmp_path`, their vaults closed on exit."""
    authors = kit.replicas({n: template[n] for n in ("alice", "dave", "bob")}, tmp_path / "a")
    judges = kit.replicas({n: template[n] for n in ("alice", "dave", "carol")}, tmp_path / "j")
    fresh = {"fresh": kit.replicas({"carol": template["carol"]}, tmp_path / "f")["carol"]}
    with ExitStack() as stack:
        yield World(
            Opened(authors, stack, synced=True),
            Opened(judges, stack, synced=False),
            Opened(fresh, stack, synced=False),
        )


# -- forging: what a hostile enrolled device can build with its own keys ---------------
def device(v: Vault) -> bytes:
    return v.office.identity.device_id


def client(v: Vault) -> int:
    return envelopes.client_id_of(device(v))


def vault_key(v: Vault) -> tuple[bytes, bytes]:
    epoch = v.office.membership.state.current_key()
    assert epoch is not None
    return epoch.key_id, bytes(v._ring[epoch.key_id])


def own_envelopes(v: Vault) -> list[bytes]:
    return [b for b in v.op_log() if envelopes.author_of(b) == device(v)]


def last_envelope(v: Vault) -> bytes:
    return own_envelopes(v)[-1]


def values_of(blob: bytes) -> set[tuple[str | None, bytes | str | None]]:
    """The (key, value) pairs an envelope writes."""
    update = envelopes.read_stored(blob).update
    return {(item.key, item.value) for item in yupdate.decode(update).items}


def version_in(blob: bytes, index: int = 0) -> versions.Version:
    item = yupdate.decode(envelopes.read_stored(blob).update).items[index]
    assert isinstance(item.value, bytes) and item.key is not None
    return versions.decode(item.key, item.value)


def sealed_fields(v: Vault, entry: bytes, values: Mapping[str, str]) -> dict[str, bytes]:
    key_id, key = vault_key(v)
    office = v.office.office_id
    fields = check_fields(values)
    return {n: versions.seal_field(key, office, entry, n, key_id, fields[n]) for n in FIELDS}


def forged_fields(v: Vault, entry: bytes) -> dict[str, bytes]:
    values = {"title": FORGED, "username": FORGED, "password": FORGED, "notes": FORGED}
    return sealed_fields(v, entry, values)


def version(
    v: Vault,
    kind: Kind,
    entry: bytes,
    at: int,
    *,
    base: tuple[str, ...] = (),
    fields: dict[str, bytes] | None = None,
    nonce: bytes | None = None,
    author: bytes | None = None,
) -> bytes:
    key_id, _ = vault_key(v)
    claimed = device(v) if author is None else author
    return versions.encode(kind, entry, claimed, key_id, at, nonce, base, fields or {})


def own_add(v: Vault, at: int, title: str = FORGED) -> tuple[bytes, bytes]:
    """A well-formed add of a new entry bound to `v`'s device: (entry id, version)."""
    nonce = crypto.random_bytes(versions.ID)
    entry = versions.entry_id_of(device(v), nonce)
    fields = sealed_fields(v, entry, {"title": title, "password": title})
    return entry, version(v, Kind.ADD, entry, at, nonce=nonce, fields=fields)


def raw_doc(v: Vault, as_client: int | None = None, upto: int | None = None) -> VaultDoc:
    """A bare document holding what `v` holds (the first `upto` envelopes of its log)."""
    doc = VaultDoc(client(v) if as_client is None else as_client)
    for blob in v.op_log()[:upto]:
        doc.apply(envelopes.read_stored(blob).update)
    return doc


def sign(v: Vault, update: bytes, at: int, seq: int | None = None) -> bytes:
    """`update` in an envelope correctly signed by `v`'s device, at its next sequence."""
    key_id, _ = vault_key(v)
    seq = len(own_envelopes(v)) + 1 if seq is None else seq
    office = v.office.office_id
    return envelopes.seal(device(v), v.office.identity.sign, office, seq, key_id, at, update)


def _uint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _buf(data: bytes) -> bytes:
    return _uint(len(data)) + data


def y_update(
    writer: int, clock: int, key: str, value: bytes, origin: tuple[int, int] | None = None
) -> bytes:
    """A hand-made Y v1 update of one Any(bytes) item (format: crdt/y_update_format.md)."""
    if origin is None:
        head = b"\x28\x01" + _buf(b"entries") + _buf(key.encode())
    else:
        head = b"\xa8" + _uint(origin[0]) + _uint(origin[1])
    item = head + b"\x01\x74" + _buf(value)
    return b"\x01\x01" + _uint(writer) + _uint(clock) + item + b"\x00"


# -- legitimate histories, and what an attack is -----------------------------------------
@dataclass(frozen=True)
class Records:
    """Membership records, delivered with Vault.merge_records."""

    blobs: tuple[bytes, ...]


Delivery = bytes | Records


@dataclass(frozen=True)
class Attack:
    legit: tuple[Delivery, ...]
    forged: tuple[bytes, ...]
    why: str  # what every replica's verdict on the forgery says
    between: int = 1  # "forgery-between" delivers it after this many legitimate items
    accepted: bool = False  # judged valid, but must change nothing that is shown


def sync_authors(w: World) -> None:
    for source in list(w.authors.values()):
        for target in list(w.authors.values()):
            if target is not source:
                kit.deliver(source, target)


def two_adds(w: World) -> tuple[bytes, bytes]:
    """Alice adds two entries, one envelope each; returns both envelopes."""
    alice = w.authors["alice"]
    alice.add({"title": "Bank", "username": "acme", "password": "hunter2"}, T1)
    first = last_envelope(alice)
    alice.add({"title": "Mail", "password": "s3cret"}, T2)
    sync_authors(w)
    return first, last_envelope(alice)


def target_of(blob: bytes) -> tuple[bytes, str]:
    v = version_in(blob)
    return v.entry, v.key


AttackMaker = Callable[[World], Attack]


# -- delivery in every order, and what every replica must end with ------------------------
ORDERS = ["forgery-first", "forgery-between", "forgery-last"]


def in_order(attack: Attack, order: str) -> list[Delivery]:
    legit, forged = list(attack.legit), list(attack.forged)
    if order == "forgery-first":
        return [*forged, *legit]
    if order == "forgery-last":
        return [*legit, *forged]
    return [*legit[: attack.between], *forged, *legit[attack.between :]]


def feed(w: World, attack: Attack, order: str) -> None:
    """Deliver to every replica in `order`; check each verdict the replica could give at once."""
    sequence = in_order(attack, order)
    for replica in w.judges():
        for i, item in enumerate(sequence):
            if isinstance(item, Records):
                replica.merge_records(item.blobs)
                continue
            verdict = replica.receive(item)
            # A replica that has not yet heard of a demotion cannot know of it (it re-judges
            # when the record comes); once it has every record, its verdict must be final.
            informed = not any(isinstance(later, Records) for later in sequence[i:])
            if item in attack.forged and verdict is not None and informed and not attack.accepted:
                assert verdict.change is None and attack.why in verdict.why, verdict.why
    carol = w.replicas["carol"]
    w.fresh.merge_records(carol.office.blobs)
    kit.deliver(carol, w.fresh)


def verdicts(v: Vault) -> dict[tuple[bytes, int], Verdict]:
    """Judge `v`'s whole op log afresh under its membership state, as a new replica would."""
    state = v.office.membership.state
    judge = Judge(state)

    def key_of(d: bytes) -> bytes | None:
        member = state.devices.get(d)
        return None if member is None else member.capability.sign_public

    out = {}
    for blob in v.op_log():
        env = envelopes.verify(blob, v.office.office_id, key_of)
        if env.seq == judge.next_seq(env.author):
            out[env.id] = judge.judge(env)
    return out


def shown(v: Vault, audit: bool = True) -> list[object]:
    """Everything a user of `v` can see (secrets revealed), to compare replicas."""
    out: list[object] = [v.entries(), v.entries(trash=True)]
    for s in v.entries() + v.entries(trash=True):
        out += [v.get(s.id, reveal=True), v.history(s.id, reveal=True)]
    return [*out, v.audit(reveal=True)] if audit else out


def assert_legitimate_state_only(w: World, attack: Attack, audit: bool = True) -> None:
    expected = shown(w.baseline, audit)
    assert FORGED not in repr(expected)
    forged_ids = [envelopes.read_stored(f).id for f in attack.forged]
    documents = []
    for replica in w.every_replica():
        assert shown(replica, audit) == expected
        documents.append(replica.document())
        log = replica.op_log()
        judged = verdicts(replica)
        for blob, env_id in zip(attack.forged, forged_ids, strict=True):
            assert blob in log  # stored, so every replica can judge it too
            if not attack.accepted:
                assert judged[env_id].change is None and attack.why in judged[env_id].why
                assert not values_of(blob) & set(replica.document())
    assert all(d == documents[0] for d in documents)
    if not attack.accepted:
        assert documents[0] == w.baseline.document()
