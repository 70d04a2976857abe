"""A backup file of entries, sealed under a password the user chooses.

File layout (all integers big-endian):

    header = b"OVBK" | version u8 (=1) | kdf u8 (=1, Argon2id)
             | opslimit u32 | memlimit u64 | salt (16)
    sealed = XChaCha20-Poly1305(key=Argon2id(password, header params),
                                codec.encode({"meta": {str: str},
                                              "entries": [{field: str}, ...]}),
                                aad=header)

As in node.keystore, the header is authenticated as associated data and its
KDF cost is checked against the profile's floor and the keystore's ceilings
*before* the password is hashed, so a backup rewritten to ask for a cheap
Argon2id never gets to see the password, and one asking for an absurd cost
never gets to run. Unlike the keystore there is no checksum trailer: a wrong
password and a tampered file are one error, and the message says so.

Every error is a UserError: the file is something a user handed us. Entries
are checked with check_fields on the way in and on the way out; errors name
an entry by its position (counting from 1), never a value. This module does
no file I/O: the caller reads and writes the bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

from node import codec, crypto, keystore
from node.entry_fields import FIELDS, Fields, check_fields
from node.errors import CryptoError, DecodeError, UserError, WrongPasswordError

MAGIC = b"OVBK"
VERSION = 1
KDF_ARGON2ID = 1
_HEADER = struct.Struct(">4sBBIQ16s")
HEADER_SIZE = _HEADER.size
MAX_FILE_SIZE = 256 * 1024 * 1024
# The codec refuses more than 100,000 collection items in one value; each entry
# is encoded on its own and costs one slot in the payload's list, so stay well
# inside that and every backup we write can be opened again.
MAX_ENTRIES = 90_000
MAX_META_ITEMS = 64
MAX_META_LENGTH = 1024

DAMAGED = "the backup file is damaged"
NOT_A_BACKUP = "not an OfficeVault backup file"


def seal_backup(
    entries: Sequence[Mapping[str, str]],
    password: bytearray,
    profile: keystore.KdfProfile,
    meta: Mapping[str, str],
) -> bytes:
    """The bytes of a backup of `entries` and `meta`, sealed under `password`."""
    if not password:
        raise UserError("a backup needs a password")
    if len(entries) > MAX_ENTRIES:
        raise UserError(f"a backup holds at most {MAX_ENTRIES} entries")
    if not _meta_ok(meta):
        raise ValueError("backup meta must map at most 64 short strings to short strings")
    payload = bytearray(_encode_payload(dict(meta), entries))
    try:
        if len(payload) > MAX_FILE_SIZE - HEADER_SIZE - crypto.NONCE_SIZE - crypto.TAG_SIZE:
            raise UserError("the entries are too large for one backup file")
        salt = crypto.random_bytes(crypto.SALT_SIZE)
        header = _HEADER.pack(
            MAGIC, VERSION, KDF_ARGON2ID, profile.opslimit, profile.memlimit, salt
        )
        key = _derive(password, salt, profile.opslimit, profile.memlimit)
        try:
            return header + crypto.aead_encrypt(key, payload, header)
        finally:
            crypto.wipe(key)
    finally:
        crypto.wipe(payload)


def open_backup(
    data: bytes, password: bytearray, profile: keystore.KdfProfile
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """(meta, entries) from a backup: check the header and its KDF cost, then derive and open."""
    header, opslimit, memlimit, salt = _checked_header(data, profile)
    key = _derive(password, salt, opslimit, memlimit)
    try:
        payload = crypto.aead_decrypt(key, data[HEADER_SIZE:], header)
    except CryptoError:
        raise WrongPasswordError(
            "wrong password for this backup, or the file was altered"
        ) from None
    finally:
        crypto.wipe(key)
    try:
        return _decode_payload(bytes(payload))
    finally:
        crypto.wipe(payload)


def _encode_payload(meta: dict[str, str], entries: Sequence[Mapping[str, str]]) -> bytes:
    checked = [_checked_entry(number, entry) for number, entry in enumerate(entries, start=1)]
    try:
        return codec.encode({"meta": meta, "entries": [codec.encode(e) for e in checked]})
    except UnicodeEncodeError:  # a lone surrogate: not text that a file can hold
        raise UserError("an entry holds text that cannot be written to a backup") from None


def _checked_header(data: bytes, profile: keystore.KdfProfile) -> tuple[bytes, int, int, bytes]:
    """The header and its KDF parameters, refused before any hashing if out of bounds."""
    if len(data) > MAX_FILE_SIZE:
        raise UserError("the file is too large to be an OfficeVault backup")
    if data[: len(MAGIC)] != MAGIC:
        raise UserError(NOT_A_BACKUP)
    if len(data) < HEADER_SIZE + crypto.NONCE_SIZE + crypto.TAG_SIZE:
        raise UserError(f"{DAMAGED} (it is truncated)")
    header = data[:HEADER_SIZE]
    _magic, version, kdf, opslimit, memlimit, salt = _HEADER.unpack(header)
    if version != VERSION:
        raise UserError("this backup was written by a version of OfficeVault that cannot be read")
    if kdf != KDF_ARGON2ID:
        raise UserError(DAMAGED)
    if opslimit < profile.floor_ops or memlimit < profile.floor_mem:
        raise UserError("the backup asks for a password hash weaker than allowed; refusing it")
    if opslimit > keystore.MAX_OPS or memlimit > keystore.MAX_MEM:
        raise UserError("the backup asks for an unreasonable password-hash cost; refusing it")
    return header, opslimit, memlimit, salt


def _derive(password: bytearray, salt: bytes, opslimit: int, memlimit: int) -> bytearray:
    try:
        return crypto.argon2id(password, salt, opslimit, memlimit)
    except CryptoError:
        raise UserError("the backup's password hash cannot be computed on this machine") from None


def _decode_payload(payload: bytes) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Meta and entries from decrypted bytes; only someone with the password could alter them."""
    try:
        fields = codec.Fields(codec.decode(payload), "backup").exactly("meta", "entries")
        meta = fields.raw()["meta"]
        listed = fields.array("entries", max_len=MAX_ENTRIES)
    except DecodeError:
        raise UserError(f"{DAMAGED} (its contents cannot be read)") from None
    if not isinstance(meta, dict) or not _meta_ok(meta):
        raise UserError(f"{DAMAGED} (its description is malformed)")
    entries = [_opened_entry(number, blob) for number, blob in enumerate(listed, start=1)]
    return {key: str(value) for key, value in meta.items()}, entries


def _meta_ok(meta: Mapping[str, object]) -> bool:
    """At most MAX_META_ITEMS pairs of strings, none longer than MAX_META_LENGTH."""
    return len(meta) <= MAX_META_ITEMS and all(
        isinstance(key, str)
        and isinstance(value, str)
        and len(key) <= MAX_META_LENGTH
        and len(value) <= MAX_META_LENGTH
        for key, value in meta.items()
    )


def _checked_entry(number: int, entry: Mapping[str, str]) -> Fields:
    try:
        return check_fields(entry)
    except UserError as exc:
        raise UserError(f"entry {number} cannot be backed up: {exc}") from None


def _opened_entry(number: int, blob: codec.Value) -> dict[str, str]:
    invalid = f"entry {number} in the backup is invalid"
    try:
        entry = codec.decode(blob) if isinstance(blob, bytes) else None
    except DecodeError:
        entry = None
    if not isinstance(entry, dict) or not set(entry) <= set(FIELDS):
        raise UserError(f"{invalid} (it is not a set of entry fields)")
    if not all(isinstance(value, str) for value in entry.values()):
        raise UserError(f"{invalid} (a field is not text)")
    try:
        checked = check_fields({key: str(value) for key, value in entry.items()})
    except UserError as exc:
        raise UserError(f"{invalid}: {exc}") from None
    return {name: checked[name] for name in FIELDS}
