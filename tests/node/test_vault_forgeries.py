"""Forged, tampered and replayed envelopes against the vault, in every delivery order.

Threats covered (DESIGN I-1, I-2, I-5, I-6; SECURITY_TESTS 3, 4, 13, 15, 27):
an enrolled member (bob) who writes Y updates by hand, seals fields with the
real vault key and signs envelopes with his real device key, so that only
the role and structure rules can stop him: edits, trash and purge of an
admin's entry, delete sets, client-id squatting, keys naming another
device's item, adds of entry ids bound to another device, and a second add
of his own entry; an admin (dave) writing past his demotion's cut-off;
bytes flipped or cut anywhere, envelopes re-signed by another device or for
another office, field blobs moved between entries and fields; replays.

Every forgery is built at the update level, never through the `Vault`
facade, and delivered to every replica (alice, dave, carol, and a fresh copy
that syncs from carol's op log) before, between and after the legitimate
envelopes it attacks. Legitimate changes are authored in a separate copy of
the office (the "authors"), whose alice is the baseline every replica must
match exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from crdt import yupdate
from crdt.rules import version_key
from crdt.vaultdoc import VaultDoc
from node import crypto, envelopes, versions
from node.entry_fields import FIELDS, check_fields
from node.errors import CryptoError, PeerError
from node.oplog import Judge, Verdict
from node.tokens import Role
from node.vault import Vault
from node.versions import Kind
from tests.node import vault_kit as kit

T1, T2, T3, T4 = (kit.T0 + 1000 * i for i in (1, 2, 3, 4))
FORGED = "FORGED-BY-THE-ATTACKER"  # in every forged field: it must never show anywhere


# -- the office: authors (who write the legitimate changes) and replicas (who judge) -------
@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    paths = kit.template(tmp_path_factory.mktemp("office"))
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


@pytest.fixture
def world(template: dict[str, Path], tmp_path: Path) -> Iterator[World]:
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


# -- legitimate histories and the attacks on them ---------------------------------------
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


def member_edit(claim_admin: bool) -> AttackMaker:
    def make(w: World) -> Attack:
        first, second = two_adds(w)
        bob, alice = w.authors["bob"], w.authors["alice"]
        entry, key = target_of(first)
        fields = forged_fields(bob, entry)
        author = device(alice) if claim_admin else None
        edit = version(bob, Kind.EDIT, entry, T3, base=(key,), fields=fields, author=author)
        _, update = raw_doc(bob).write([edit])
        why = "differs from its envelope" if claim_admin else "a member may only add"
        return Attack((first, second), (sign(bob, update, T3),), why)

    return make


def member_edit_beside_own_add(w: World) -> Attack:
    """One envelope with a valid add of bob's own and an edit of alice's: all of it goes."""
    first, second = two_adds(w)
    bob = w.authors["bob"]
    entry, key = target_of(first)
    edit = version(bob, Kind.EDIT, entry, T3, base=(key,), fields=forged_fields(bob, entry))
    _, update = raw_doc(bob).write([own_add(bob, T3)[1], edit])
    return Attack((first, second), (sign(bob, update, T3),), "a member may only add")


def member_status(kind: Kind, delete: bool = False) -> AttackMaker:
    def make(w: World) -> Attack:
        first, second = two_adds(w)
        bob = w.authors["bob"]
        entry, key = target_of(first)
        _, update = raw_doc(bob).write([version(bob, kind, entry, T3)], [key] if delete else ())
        why = "may not delete" if delete else "a member may only add"
        return Attack((first, second), (sign(bob, update, T3),), why)

    return make


def member_delete_set(with_own_add: bool) -> AttackMaker:
    def make(w: World) -> Attack:
        first, second = two_adds(w)
        bob = w.authors["bob"]
        _, key = target_of(first)
        values = [own_add(bob, T3)[1]] if with_own_add else []
        _, update = raw_doc(bob).write(values, [key])
        return Attack((first, second), (sign(bob, update, T3),), "may not delete")

    return make


def squat_next_clock(w: World) -> Attack:
    """Bob writes under alice's client id at the clock her second add is about to use."""
    first, second = two_adds(w)
    bob, alice = w.authors["bob"], w.authors["alice"]
    doc = raw_doc(bob, as_client=client(alice), upto=1)  # bob's copy, holding only `first`
    assert doc.next_clock() == yupdate.decode(envelopes.read_stored(second).update).first_clock
    _, update = doc.write([own_add(bob, T3)[1]])
    return Attack((first, second), (sign(bob, update, T3),), "another device's client id")


def squat_future_clock(w: World) -> Attack:
    first, second = two_adds(w)
    bob, alice = w.authors["bob"], w.authors["alice"]
    update = y_update(client(alice), 7, version_key(client(alice), 7), own_add(bob, T3)[1])
    return Attack((first, second), (sign(bob, update, T3),), "another device's client id")


def own_client_foreign_key(w: World) -> Attack:
    """Bob's own item id, but under the key of alice's item: an overwrite without origin."""
    first, second = two_adds(w)
    bob = w.authors["bob"]
    entry, key = target_of(first)
    edit = version(bob, Kind.EDIT, entry, T3, base=(key,), fields=forged_fields(bob, entry))
    update = y_update(client(bob), 0, key, edit)
    return Attack((first, second), (sign(bob, update, T3),), "other than its own version key")


def own_client_with_origin(w: World) -> Attack:
    """Bob's own item id, placed after alice's item as its origin: an overwrite of her key."""
    first, second = two_adds(w)
    bob, alice = w.authors["bob"], w.authors["alice"]
    entry, key = target_of(first)
    edit = version(bob, Kind.EDIT, entry, T3, base=(key,), fields=forged_fields(bob, entry))
    update = y_update(client(bob), 0, "", edit, origin=(client(alice), 0))
    return Attack((first, second), (sign(bob, update, T3),), "not a new top-level entry value")


def add_of_foreign_entry(nonce_from_alice: bool, claim_alice: bool) -> AttackMaker:
    def make(w: World) -> Attack:
        first, second = two_adds(w)
        bob, alice = w.authors["bob"], w.authors["alice"]
        target = version_in(first)
        assert target.nonce is not None
        nonce = target.nonce if nonce_from_alice else crypto.random_bytes(versions.ID)
        author = device(alice) if claim_alice else None
        fields = forged_fields(bob, target.entry)
        add = version(bob, Kind.ADD, target.entry, T3, nonce=nonce, fields=fields, author=author)
        _, update = raw_doc(bob).write([add])
        why = "differs from its envelope" if claim_alice else "not bound to its author"
        return Attack((first, second), (sign(bob, update, T3),), why)

    return make


def demoted_admin_edit(w: World) -> Attack:
    """Dave edits as an admin, is demoted (cut-off: that edit), then edits again."""
    first, second = two_adds(w)
    alice, dave = w.authors["alice"], w.authors["dave"]
    entry = target_of(first)[0]
    dave.edit(entry.hex(), {"password": "rotated-by-dave"}, T3)
    dave_edit = last_envelope(dave)
    kit.deliver(dave, alice)
    alice.office.set_role("dave", Role.MEMBER, T3 + 10)
    assert alice.office.membership.state.role_for(device(dave), 2) is Role.MEMBER
    alice.merge_records(())  # alice's vault re-judges under the new roles
    records = Records(alice.office.blobs)
    _, head = target_of(dave_edit)
    edit = version(dave, Kind.EDIT, entry, T4, base=(head,), fields=forged_fields(dave, entry))
    _, update = raw_doc(dave).write([edit])
    forged = sign(dave, update, T4)
    legit = (first, second, dave_edit, records)
    return Attack(legit, (forged,), "a member may only add", between=3)


ATTACKS: list[tuple[str, AttackMaker]] = [
    ("a-member-edits-admins-entry", member_edit(claim_admin=False)),
    ("a-member-edits-admins-entry-claiming-admin-authorship", member_edit(claim_admin=True)),
    ("a-member-edit-beside-a-valid-own-add", member_edit_beside_own_add),
    ("b-member-trashes-admins-entry", member_status(Kind.TRASH)),
    ("b-member-restores-admins-entry", member_status(Kind.RESTORE)),
    ("b-member-purge-version", member_status(Kind.PURGE)),
    ("b-member-purge-with-delete-set", member_status(Kind.PURGE, delete=True)),
    ("c-member-delete-set-only", member_delete_set(with_own_add=False)),
    ("c-member-delete-set-beside-own-add", member_delete_set(with_own_add=True)),
    ("d-squats-admins-next-clock", squat_next_clock),
    ("d-squats-admins-future-clock", squat_future_clock),
    ("d-own-client-id-under-admins-key", own_client_foreign_key),
    ("d-own-client-id-with-admins-item-as-origin", own_client_with_origin),
    ("e-add-of-admins-entry-id-fresh-nonce", add_of_foreign_entry(False, False)),
    ("e-add-of-admins-entry-id-admins-nonce", add_of_foreign_entry(True, False)),
    ("e-add-of-admins-entry-id-claiming-admin", add_of_foreign_entry(True, True)),
    ("g-demoted-admin-edits-past-cutoff", demoted_admin_edit),
]
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


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("make", [a[1] for a in ATTACKS], ids=[a[0] for a in ATTACKS])
def test_forgery_is_rejected_by_every_replica_in_every_order(
    world: World, make: AttackMaker, order: str
) -> None:
    attack = make(world)
    feed(world, attack, order)
    assert_legitimate_state_only(world, attack)


def duplicate_own_add(w: World) -> Attack:
    """Bob adds his entry, then re-adds the same id (same nonce) with new content."""
    first, second = two_adds(w)
    bob = w.authors["bob"]
    bob.add({"title": "Bob's router", "password": "original"}, T2 + 10)
    original = last_envelope(bob)
    sync_authors(w)
    added = version_in(original)
    fields = forged_fields(bob, added.entry)
    again = version(bob, Kind.ADD, added.entry, T3, nonce=added.nonce, fields=fields)
    _, update = raw_doc(bob).write([again])
    return Attack((first, original, second), (sign(bob, update, T3),), "", 2, accepted=True)


@pytest.mark.parametrize("order", ORDERS)
def test_f_a_second_add_of_own_entry_never_replaces_the_first(world: World, order: str) -> None:
    """Judged valid (the id is bob's), but the first add stays the shown content and history."""
    attack = duplicate_own_add(world)
    feed(world, attack, order)
    assert_legitimate_state_only(world, attack, audit=False)
    for replica in world.every_replica():
        (bobs,) = [s for s in replica.entries() if s.created_by == "bob"]
        assert replica.get(bobs.id, reveal=True).password == "original"
        assert [h.kind for h in replica.history(bobs.id)] == ["added"]


@pytest.mark.parametrize("order", ORDERS)
def test_f_a_second_add_of_own_entry_is_not_in_the_audit_trail(world: World, order: str) -> None:
    """The audit must not claim bob "added" content that no replica ever shows."""
    attack = duplicate_own_add(world)
    feed(world, attack, order)
    expected = world.baseline.audit(reveal=True)
    for replica in world.every_replica():
        trail = replica.audit(reveal=True)
        assert FORGED not in repr(trail)
        assert trail == expected


# -- tampering: bytes that are not what the author signed ---------------------------------
def signed_add(w: World) -> bytes:
    """Alice's second add; carol already holds her first, so there is a state to keep."""
    alice, carol = w.authors["alice"], w.replicas["carol"]
    alice.add({"title": "Earlier", "password": "kept"}, T1)
    carol.receive(last_envelope(alice))
    alice.add({"title": "Bank", "password": "hunter2"}, T2)
    return last_envelope(alice)


def assert_untouched(w: World) -> None:
    """Carol holds exactly alice's first envelope and its entry, nothing more."""
    carol, alice = w.replicas["carol"], w.authors["alice"]
    first = own_envelopes(alice)[0]
    assert carol.op_log() == [first]
    assert carol.document() == sorted(values_of(first))
    assert [s.title for s in carol.entries()] == ["Earlier"]


FLIPS = [("author-first", 0), ("author-last", 15), ("signature-first", 16),
         ("signature-last", 79), ("body-first", 80), ("body-middle", -60),
         ("update-bytes", -30), ("last", -1)]  # fmt: skip


@pytest.mark.parametrize("where", [f[1] for f in FLIPS], ids=[f[0] for f in FLIPS])
def test_a_flipped_byte_is_refused(world: World, where: int) -> None:
    blob = bytearray(signed_add(world))
    blob[where] ^= 0x01
    with pytest.raises(PeerError):
        world.replicas["carol"].receive(bytes(blob))
    assert_untouched(world)


def bob_resigns(w: World, blob: bytes) -> bytes:
    bob = w.authors["bob"]
    body = blob[80:]
    signature = bob.office.identity.sign.sign(envelopes.DOMAIN + bob.office.office_id + body)
    return device(bob) + signature + body


def test_an_envelope_re_signed_by_another_device_is_judged_invalid(world: World) -> None:
    """Bob takes alice's signed add and signs its body himself: authentic, but not his items."""
    alice = world.authors["alice"]
    alice.add({"title": "Bank", "password": "hunter2"}, T1)
    original = last_envelope(alice)
    resigned = bob_resigns(world, original)
    for replica in world.judges():
        replica.receive(original)
        before = replica.document()
        verdict = replica.receive(resigned)
        assert verdict is not None and verdict.change is None
        assert "another device's client id" in verdict.why
        assert replica.document() == before and resigned in replica.op_log()
        assert [(e.user, e.action) for e in replica.audit()] == [("alice", "added")]


@pytest.mark.parametrize(
    "mix",
    [lambda a, b: a[:16] + b[16:], lambda a, b: b[:16] + a[16:]],
    ids=["admins-id-with-members-signature", "members-id-with-admins-signature"],
)
def test_a_signature_of_another_device_is_refused(
    world: World, mix: Callable[[bytes, bytes], bytes]
) -> None:
    blob = signed_add(world)
    with pytest.raises(PeerError):
        world.replicas["carol"].receive(mix(blob, bob_resigns(world, blob)))
    assert_untouched(world)


def test_an_envelope_for_another_office_is_refused(world: World) -> None:
    """Signed by bob's real key, but over another office id than the one carol pinned."""
    signed_add(world)
    bob = world.authors["bob"]
    key_id, _ = vault_key(bob)
    _, update = raw_doc(bob).write([own_add(bob, T1)[1]])
    other = crypto.random_bytes(16)
    blob = envelopes.seal(device(bob), bob.office.identity.sign, other, 1, key_id, T1, update)
    with pytest.raises(PeerError):
        world.replicas["carol"].receive(blob)
    assert_untouched(world)


@pytest.mark.parametrize(
    "cut", [0, 1, 79, 80, 81, -1], ids=lambda c: f"first-{c}-bytes" if c >= 0 else "minus-one"
)
def test_a_truncated_envelope_is_refused(world: World, cut: int) -> None:
    blob = signed_add(world)
    with pytest.raises(PeerError):
        world.replicas["carol"].receive(blob[:cut])
    assert_untouched(world)


GARBAGE: list[tuple[str, Callable[[bytes], bytes]]] = [
    ("empty", lambda u: b""),
    ("empty-update-00-00", lambda u: b"\x00\x00"),
    ("truncated-by-one", lambda u: u[:-1]),
    ("truncated-to-half", lambda u: u[: len(u) // 2]),
    ("trailing-byte", lambda u: u + b"\x00"),
    ("random-bytes", lambda u: bytes.fromhex("5e1f0c9a7733d2e8b0a4") * 7),
    ("zeros", lambda u: bytes(64)),
    ("two-overlapping-sections-that-crash-yrs", lambda u: b"\x02" + u[1:-1] + u[1:]),
]


@pytest.mark.parametrize("mangle", [g[1] for g in GARBAGE], ids=[g[0] for g in GARBAGE])
def test_garbage_updates_in_signed_envelopes_change_nothing(
    world: World, mangle: Callable[[bytes], bytes]
) -> None:
    """SECURITY_TESTS 27: from a member or an admin, stored and judged invalid everywhere,
    the document unchanged; the author's next good envelope still counts."""
    sent = []
    for writer in (world.authors["bob"], world.authors["alice"]):
        _, good = raw_doc(writer).write([own_add(writer, T1, title="next")[1]])
        sent.append((sign(writer, mangle(good), T1, seq=1), sign(writer, good, T1, seq=2)))
    for replica in world.judges():
        for n, (garbage, follow_up) in enumerate(sent):
            verdict = replica.receive(garbage)
            assert verdict is not None and verdict.change is None and verdict.why
            assert len(replica.document()) == n and garbage in replica.op_log()
            later = replica.receive(follow_up)
            assert later is not None and later.change is not None
            assert [s.title for s in replica.entries()] == ["next"] * (n + 1)
    kit.deliver(world.replicas["carol"], world.fresh)
    documents = [r.document() for r in world.every_replica()]
    assert all(d == documents[0] for d in documents) and len(documents[0]) == 2


Tamper = Callable[[dict[str, bytes], dict[str, bytes]], None]  # (A's fields, B's fields)


def tampered_pair(w: World, tamper: Tamper) -> bytes:
    """An admin envelope adding entries A and B, A's sealed fields altered by `tamper(a, b)`."""
    alice = w.authors["alice"]
    made = []
    for title in ("Entry A", "Entry B"):
        nonce = crypto.random_bytes(versions.ID)
        entry = versions.entry_id_of(device(alice), nonce)
        plain = {"title": title, "username": f"user of {title}", "password": f"pw of {title}"}
        made.append((entry, nonce, sealed_fields(alice, entry, plain)))
    tamper(made[0][2], made[1][2])
    adds = [version(alice, Kind.ADD, e, T1, nonce=n, fields=f) for e, n, f in made]
    _, update = raw_doc(alice).write(adds)
    return sign(alice, update, T1)


def _swap(name: str, other: str | None = None) -> Tamper:
    def run(a: dict[str, bytes], b: dict[str, bytes]) -> None:
        a[name] = b[name] if other is None else a[other]

    return run


def _flip(name: str, where: int) -> Tamper:
    def run(a: dict[str, bytes], b: dict[str, bytes]) -> None:
        raw = bytearray(a[name])
        raw[where] ^= 0x80
        a[name] = bytes(raw)

    return run


TAMPERS = [
    ("title-from-entry-b", _swap("title")),
    ("password-from-entry-b", _swap("password")),
    ("title-from-own-username", _swap("title", "username")),
    ("password-from-own-username", _swap("password", "username")),
    ("title-nonce-flipped", _flip("title", 0)),
    ("title-ciphertext-flipped", _flip("title", crypto.NONCE_SIZE)),
    ("title-tag-flipped", _flip("title", -1)),
    ("password-tag-flipped", _flip("password", -1)),
]


@pytest.mark.parametrize("tamper", [t[1] for t in TAMPERS], ids=[t[0] for t in TAMPERS])
def test_moved_or_flipped_field_blobs_make_only_that_entry_unreadable(
    world: World, tamper: Tamper
) -> None:
    """SECURITY_TESTS 3 and 4: stored (the signer is an admin) but A never opens; B does."""
    blob = tampered_pair(world, tamper)
    for replica in world.every_replica():
        if replica is world.fresh:
            kit.deliver(world.replicas["carol"], replica)
        else:
            verdict = replica.receive(blob)
            assert verdict is not None and verdict.change is not None
        by_title = {s.title: s for s in replica.entries()}
        b = replica.get(by_title["Entry B"].id, reveal=True)
        assert b.password == "pw of Entry B" and b.summary.readable
        (a,) = [s for s in replica.entries() if s.title != "Entry B"]
        views: list[object] = [a, replica.audit(reveal=True, entry=a.id)]
        if a.readable:
            with pytest.raises(CryptoError):
                replica.get(a.id, reveal=True)
            with pytest.raises(CryptoError):
                replica.history(a.id, reveal=True)
        else:
            views += [replica.get(a.id, reveal=True), replica.history(a.id)]
            assert a.title == "(unreadable)"
        assert "of Entry B" not in repr(views) and "pw of Entry A" not in repr(views)


# -- replays ----------------------------------------------------------------------------
def test_replaying_every_envelope_changes_nothing(world: World) -> None:
    """I-6: envelopes (accepted and rejected) and membership records again: no effect."""
    attack = member_edit(claim_admin=False)(world)
    feed(world, attack, "forgery-last")
    for replica in world.every_replica():
        before = (replica.op_log(), replica.document(), shown(replica))
        for blob in [*attack.legit, *attack.forged, *replica.op_log()]:
            assert isinstance(blob, bytes)
            assert replica.receive(blob) is None
        replica.merge_records(replica.office.blobs)
        assert (replica.op_log(), replica.document(), shown(replica)) == before
    assert_legitimate_state_only(world, attack)


def test_a_second_envelope_with_a_used_sequence_number_is_refused(world: World) -> None:
    """Equivocation: bob signs two different envelopes as his number 1."""
    bob = world.authors["bob"]
    _, one = raw_doc(bob).write([own_add(bob, T1, title="one")[1]])
    _, two = raw_doc(bob).write([own_add(bob, T1, title="two")[1]])
    first, second = sign(bob, one, T1, seq=1), sign(bob, two, T1, seq=1)
    for replica in world.judges():
        replica.receive(first)
        with pytest.raises(PeerError):
            replica.receive(second)
        assert [s.title for s in replica.entries()] == ["one"]
        assert replica.op_log() == [first]


def test_a_replica_reopened_rebuilds_the_same_judged_document(
    world: World, template: dict[str, Path], tmp_path: Path
) -> None:
    """Opening again judges the stored log afresh (rejected envelopes included): same state."""
    attack = squat_next_clock(world)
    feed(world, attack, "forgery-first")
    path = kit.replicas({"carol": template["carol"]}, tmp_path / "reopened")["carol"]
    with Vault.open(path, kit.pw(), kit.PROFILE) as replica:
        kit.deliver(world.replicas["carol"], replica)
        before = (replica.document(), shown(replica))
    assert before[0] == world.baseline.document()
    for _ in range(2):
        with Vault.open(path, kit.pw(), kit.PROFILE) as replica:
            assert (replica.document(), shown(replica)) == before
