"""Valid samples for the fuzzers, made with the project's own encoders and fixed keys.

The office is membership_builders' (root key, devices A..N); the vault
document's values and updates are written by `VaultDoc` and `versions.encode`
as a replica would. Everything is built once, on first use.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Iterator
from unittest import mock

import nacl.pwhash.argon2id as pwhash

from crdt.vaultdoc import VaultDoc
from node import crypto, envelopes, versions
from node.entry_fields import FIELDS
from node.versions import Kind
from tests.conftest import T0
from tests.node.membership_builders import OFFICE, A, B, Device

KEY_ID = bytes(range(16))
VAULT_KEY = bytes(range(32))
NONCE = b"\x07" * 16
ENTRY = versions.entry_id_of(A.id, NONCE)


def sealed_fields(entry: bytes = ENTRY) -> dict[str, bytes]:
    return {
        name: versions.seal_field(VAULT_KEY, OFFICE, entry, name, KEY_ID, f"{name} value")
        for name in FIELDS
    }


@functools.cache
def version_values() -> tuple[tuple[str, bytes], ...]:
    """(version key, stored value) of each kind: add, edit, trash, restore, purge."""
    client = envelopes.client_id_of(A.id)
    add = versions.encode(Kind.ADD, ENTRY, A.id, KEY_ID, T0, NONCE, (), sealed_fields())
    base = (f"{client:x}.0",)
    edit = versions.encode(Kind.EDIT, ENTRY, A.id, KEY_ID, T0 + 1, None, base, sealed_fields())
    out = [(f"{client:x}.0", add), (f"{client:x}.1", edit)]
    for clock, kind in enumerate((Kind.TRASH, Kind.RESTORE, Kind.PURGE), start=2):
        value = versions.encode(kind, ENTRY, A.id, KEY_ID, T0 + clock, None, base, {})
        out.append((f"{client:x}.{clock:x}", value))
    return tuple(out)


@functools.cache
def updates(device: Device = A) -> tuple[bytes, ...]:
    """The Y updates of a replica of `device` writing an add, an edit, then a purge
    (values and a delete): in order, each continuing the clock of the one before."""
    doc = VaultDoc(envelopes.client_id_of(device.id))
    values = [value for _, value in version_values()]
    first, one = doc.write([values[0]])
    _, two = doc.write([values[1], values[2]])
    _, three = doc.write([values[4]], deletes=first)
    return one, two, three


@functools.cache
def sealed_envelopes() -> tuple[bytes, ...]:
    """Genuine envelopes of A (seq 1-3) and one of B, as peers forward them."""
    out = [
        envelopes.seal(A.id, A.sign, OFFICE, seq, KEY_ID, T0 + seq, update)
        for seq, update in enumerate(updates(A), start=1)
    ]
    out.append(envelopes.seal(B.id, B.sign, OFFICE, 1, KEY_ID, T0, updates(B)[0]))
    return tuple(out)


def device_keys(*devices: Device) -> dict[bytes, bytes]:
    return {d.id: d.sign.public for d in devices}


_REAL_ARGON2ID = crypto.argon2id


class CheapKdf:
    """Stands in for crypto.argon2id: instant, and records the cost each call asked for.

    The key depends on every input (password, salt, both costs), as the real one
    does, so a header whose cost or salt was changed still derives a wrong key.
    Parameters libsodium refuses go to the real function, which refuses them at
    once, so errors are the real ones too.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(
        self, password: bytes | bytearray, salt: bytes, opslimit: int, memlimit: int
    ) -> bytearray:
        self.calls.append((opslimit, memlimit))
        if (
            len(salt) != crypto.SALT_SIZE
            or not pwhash.OPSLIMIT_MIN <= opslimit <= pwhash.OPSLIMIT_MAX
            or not pwhash.MEMLIMIT_MIN <= memlimit <= pwhash.MEMLIMIT_MAX
        ):
            return _REAL_ARGON2ID(password, salt, opslimit, memlimit)
        material = (
            bytes(password) + salt + opslimit.to_bytes(8, "big") + memlimit.to_bytes(8, "big")
        )
        return bytearray(hashlib.blake2b(material, digest_size=32).digest())


@contextlib.contextmanager
def cheap_kdf() -> Iterator[CheapKdf]:
    """Argon2id replaced by a CheapKdf while the body runs (a fuzzer makes thousands of files)."""
    kdf = CheapKdf()
    with mock.patch.object(crypto, "argon2id", kdf):
        yield kdf
