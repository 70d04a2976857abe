"""Tampered envelopes against the vault: bytes that are not what their author signed.

Threats covered (DESIGN I-5; SECURITY_TESTS 3, 4, 27): a byte flipped anywhere in
an envelope, or the envelope cut short; an admin's envelope re-signed by a member,
or its device id paired with another device's signature; an envelope signed for
another office; garbage Y updates inside correctly signed envelopes; sealed field
blobs moved between entries and fields, or flipped. Each is refused before it is
stored, or stored and judged invalid, and the replica's state is what it was (or, for
a damaged field, only that entry is unreadable and nothing of it leaks).

Forgeries are built with tests/node/forging.py's kit, never through the `Vault`
facade. Not covered here: forgeries a member signs correctly, and replays
(tests/node/test_vault_forgeries.py).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from node import crypto, envelopes, versions
from node.errors import CryptoError, PeerError
from node.versions import Kind
from tests.node import vault_kit as kit
from tests.node.forging import (
    T1,
    T2,
    World,
    device,
    last_envelope,
    own_add,
    own_envelopes,
    raw_doc,
    sealed_fields,
    sign,
    values_of,
    vault_key,
    version,
)


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
