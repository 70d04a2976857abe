"""Fuzzing backup files: node.backup `open_backup` (header, sealed payload, entries).

A backup is a file a user hands us, maybe not one we wrote. Threats: a
damaged or rewritten file crashes the restore, gets the password hashed under
a cost below the floor or past the ceiling, or opens to entries other than
those sealed; a payload of the wrong shape (sealed by someone with the
password) crashes the reader or yields entries that break the field limits.
Only UserError may escape (a wrong password is one); the cost asked of
Argon2id is always within bounds; what opens is the genuine file, and every
entry read passes check_fields. Argon2id is replaced by samples.CheapKdf.
"""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from node import backup, codec, crypto, keystore
from node.backup import HEADER_SIZE
from node.codec import Value
from node.entry_fields import FIELDS, check_fields
from node.errors import UserError
from node.keystore import MODERATE
from tests.fuzz.hostile import FUZZ, damaged, hostile, outcome, reshaped
from tests.fuzz.samples import CheapKdf, cheap_kdf

PASSWORD = b"a backup password"
ENTRIES = [
    check_fields({"title": "Mail", "username": "al", "password": "p,w", "url": "https://m"}),
    check_fields({"title": "Bank", "password": "x" * 100, "notes": "line\nline", "category": "€"}),
]
META = {"office": "Acme Ltd", "made": "2027-01-01"}
ENTRY_VALUES = [dict(e) for e in ENTRIES]
PAYLOAD: dict[str, Value] = {"meta": META, "entries": [codec.encode(e) for e in ENTRY_VALUES]}
COSTS = [(3, 64 << 20), (32, 1 << 30), (2, 64 << 20), (33, 1 << 30), (3, (1 << 30) + 1)]

with cheap_kdf():
    GENUINE = (
        backup.seal_backup(ENTRIES, bytearray(PASSWORD), MODERATE, META),
        backup.seal_backup([], bytearray(PASSWORD), MODERATE, {}),
    )


def _sealed_payload(payload: bytes) -> bytes:
    """A backup whose sealed payload is `payload`: what anyone with the password can write."""
    header = struct.pack(">4sBBIQ16s", b"OVBK", 1, 1, 3, 64 << 20, b"\x09" * 16)
    key = CheapKdf()(PASSWORD, header[-16:], 3, 64 << 20)
    return header + crypto.aead_encrypt(key, payload, header)


def _open(data: bytes) -> tuple[dict[str, str], list[dict[str, str]]] | None:
    with cheap_kdf() as kdf:
        opened = outcome(lambda: backup.open_backup(data, bytearray(PASSWORD), MODERATE), UserError)
    for ops, mem in kdf.calls:
        assert MODERATE.floor_ops <= ops <= keystore.MAX_OPS
        assert MODERATE.floor_mem <= mem <= keystore.MAX_MEM
    if opened is not None:
        meta, entries = opened
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
        for entry in entries:
            assert set(entry) == set(FIELDS) and check_fields(entry) == entry
    return opened


def test_the_samples_are_valid() -> None:
    """Control: the genuine backups open to what was sealed, and so does a hand-sealed one."""
    assert _open(GENUINE[0]) == (META, ENTRIES)
    assert _open(GENUINE[1]) == ({}, [])
    assert _open(_sealed_payload(codec.encode(PAYLOAD))) == (META, ENTRIES)


@FUZZ
@given(
    hostile(GENUINE, max_size=300)
    | st.builds(
        lambda cost, rest: struct.pack(">4sBBIQ", b"OVBK", 1, 1, *cost) + rest,
        st.sampled_from(COSTS),
        st.binary(min_size=16, max_size=120),
    )
)
def test_a_damaged_backup_is_refused_and_never_hashed_outside_the_bounds(data: bytes) -> None:
    """Threat: a damaged or rewritten backup crashes the restore, gets the password hashed at a
    cost outside [floor, ceiling], or opens although its header or ciphertext changed."""
    opened = _open(data)
    if opened is not None:
        assert data in GENUINE
    assert len(data) >= HEADER_SIZE or opened is None


payloads = (
    reshaped([PAYLOAD])
    | st.lists(reshaped(ENTRY_VALUES) | st.binary(max_size=20), max_size=3).map(
        lambda entries: codec.encode({"meta": META, "entries": entries})
    )
    | damaged([codec.encode(PAYLOAD)])
)


@FUZZ
@given(payloads)
def test_a_malformed_payload_behind_the_password_is_a_user_error(payload: bytes) -> None:
    """Threat: a backup sealed by someone with the password but holding entries of the wrong
    shape (unknown fields, non-text values, over-long fields, NULs, no title, not a map)."""
    _open(_sealed_payload(payload))
