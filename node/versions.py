"""Versions: the values stored in the vault document, one per change to one entry.

An entry is never overwritten. Adding it writes an "add" version; each
admin edit writes an "edit" version naming the versions it replaces (its
base); trash, restore and purge are versions too. The entry's state is a
fold over its versions (node/entries.py), so two admins editing at once
leave two heads (a conflict, both kept) instead of one silently lost write.

Every field is sealed with XChaCha20-Poly1305 under the vault key named by
`key_id`, with the office, the entry, the field name and the key id as
associated data: a blob moved to another entry, another field or another
office does not open.

Layout (fixed, strict; decoding is on the hot path of opening a vault):

    0x01 | kind (1) | entry (16) | author (16) | key_id (16) | at (8, signed)
    | nonce (16, adds only) | n_base (1) | n_base x (client 8 | clock 4)
    | n_fields (1) | n_fields x (field index 1 | length 4 | sealed blob)
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from enum import IntEnum

from crdt import rules
from crdt.errors import UpdateError
from node import crypto
from node.entry_fields import FIELDS, MAX_LENGTH
from node.errors import CryptoError, DecodeError

FORMAT = 1
ID = crypto.ID_SIZE
MAX_BASE = 32
MAX_SEALED = max(MAX_LENGTH.values()) * 4 + crypto.NONCE_SIZE + crypto.TAG_SIZE
FIELD_DOMAIN = b"OfficeVault field v1\x00"
_ENTRY_PERSON = b"OV-entry-id-v1"
_HEAD = struct.Struct(">BB16s16s16sq")
_BASE = struct.Struct(">QI")
_FIELD = struct.Struct(">BI")


class Kind(IntEnum):
    ADD = 1
    EDIT = 2
    TRASH = 3
    RESTORE = 4
    PURGE = 5


CONTENT_KINDS = frozenset({Kind.ADD, Kind.EDIT})


@dataclass(frozen=True)
class Version:
    key: str  # the version key it sits under in the document
    kind: Kind
    entry: bytes
    author: bytes  # device id
    key_id: bytes
    at: int
    nonce: bytes | None  # adds only: the entry id is bound to (author, nonce)
    base: tuple[str, ...]
    fields: dict[str, bytes]  # field name -> sealed value (adds and edits)
    clock: int  # the Y clock of its item (from the key): orders one device's versions


def entry_id_of(author: bytes, nonce: bytes) -> bytes:
    """An entry's id: 128 bits only its creating device can claim (it holds the nonce)."""
    return hashlib.blake2b(author + nonce, digest_size=ID, person=_ENTRY_PERSON).digest()


def encode(
    kind: Kind,
    entry: bytes,
    author: bytes,
    key_id: bytes,
    at: int,
    nonce: bytes | None,
    base: tuple[str, ...],
    fields: dict[str, bytes],
) -> bytes:
    out = bytearray(_HEAD.pack(FORMAT, kind, entry, author, key_id, at))
    if nonce is not None:
        out += nonce
    out.append(len(base))
    for key in base:
        out += _BASE.pack(*rules.parse_version_key(key))
    out.append(len(fields))
    for name in FIELDS:
        if name in fields:
            out += _FIELD.pack(FIELDS.index(name), len(fields[name])) + fields[name]
    return bytes(out)


def decode(key: str, data: bytes) -> Version:
    """Parse one stored value strictly, or raise DecodeError."""
    try:
        clock = rules.parse_version_key(key)[1]
        fmt, kind_byte, entry, author, key_id, at = _HEAD.unpack_from(data)
        if fmt != FORMAT:
            raise DecodeError("unknown version format")
        kind = Kind(kind_byte)
        pos = _HEAD.size
        nonce = None
        if kind is Kind.ADD:
            nonce, pos = data[pos : pos + ID], pos + ID
        base_count, pos = data[pos], pos + 1
        if base_count > MAX_BASE:
            raise DecodeError("too many base versions")
        base = []
        for _ in range(base_count):
            named = rules.version_key(*_BASE.unpack_from(data, pos))
            rules.parse_version_key(named)  # in range, as encode requires
            base.append(named)
            pos += _BASE.size
        field_count, pos = data[pos], pos + 1
        fields: dict[str, bytes] = {}
        last = -1
        for _ in range(field_count):
            index, size = _FIELD.unpack_from(data, pos)
            pos += _FIELD.size
            if not last < index < len(FIELDS) or size > MAX_SEALED or pos + size > len(data):
                raise DecodeError("a malformed field")
            fields[FIELDS[index]] = data[pos : pos + size]
            last, pos = index, pos + size
    except (struct.error, IndexError, ValueError, UpdateError):
        raise DecodeError("a malformed version") from None
    if pos != len(data) or (nonce is not None and len(nonce) != ID):
        raise DecodeError("a malformed version")
    if len(set(base)) != len(base):
        raise DecodeError("a base version named twice")
    return Version(key, kind, entry, author, key_id, at, nonce, tuple(base), fields, clock)


def _aad(office_id: bytes, entry: bytes, name: str, key_id: bytes) -> bytes:
    return FIELD_DOMAIN + office_id + entry + key_id + name.encode()


def seal_field(
    key: bytes | bytearray, office_id: bytes, entry: bytes, name: str, key_id: bytes, value: str
) -> bytes:
    plain = bytearray(value.encode("utf-8"))
    try:
        return crypto.aead_encrypt(key, plain, _aad(office_id, entry, name, key_id))
    finally:
        crypto.wipe(plain)


def open_field(
    key: bytes | bytearray, office_id: bytes, entry: bytes, name: str, key_id: bytes, sealed: bytes
) -> str:
    """The plaintext of one field, or CryptoError if it was altered or moved."""
    plain = crypto.aead_decrypt(key, sealed, _aad(office_id, entry, name, key_id))
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        raise CryptoError("a field is not text") from None
    finally:
        crypto.wipe(plain)
