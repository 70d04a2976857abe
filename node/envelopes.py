"""Signed envelopes: one local change to the vault document, as it travels and is stored.

Wire form (no algorithm field):

    author device id (16) | Ed25519 signature (64) | body

The signature covers DOMAIN | office_id | body, where office_id is the
verifier's pinned office. The body is the canonical encoding of
{seq, key_id, at, update}: the author's per-device sequence number (1, 2,
3, ... with no gaps), the vault key id the update's fields are encrypted
under, the author's clock, and the Y update bytes exactly as the author's
document produced them.

Verify, then parse: sizes are checked, then the signature over the exact
bytes, and only then is the body decoded. This module does not decode the Y
update and decides nothing about roles; that is the vault document's check.
It also derives each device's Y client id, so that every struct in an
update can be tied to the device that signed it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from node import codec, crypto
from node.errors import CryptoError, DecodeError, PeerError

DOMAIN = b"OfficeVault envelope v1\x00"
ID = crypto.ID_SIZE
MAX_UPDATE = 1024 * 1024
MAX_ENVELOPE = MAX_UPDATE + 1024
_CLIENT_PERSON = b"OV-yclient-v1"  # BLAKE2b personalisation: at most 16 bytes


@dataclass(frozen=True)
class Envelope:
    author: bytes  # device id
    seq: int
    key_id: bytes
    at: int
    update: bytes
    blob: bytes  # the exact signed bytes, as stored and forwarded

    @property
    def id(self) -> tuple[bytes, int]:
        """(author, seq): what version vectors count and duplicates are told apart by."""
        return self.author, self.seq


def client_id_of(device_id: bytes) -> int:
    """The Y client id of a device: 53 bits (what pycrdt accepts), from its device id."""
    digest = hashlib.blake2b(device_id, digest_size=8, person=_CLIENT_PERSON).digest()
    return int.from_bytes(digest, "big") >> 11


def seal(
    author: bytes,
    key: crypto.SigningKeyPair,
    office_id: bytes,
    seq: int,
    key_id: bytes,
    at: int,
    update: bytes,
) -> bytes:
    """Sign one change. Misuse (bad sizes, seq < 1) is a programming error."""
    if len(author) != ID or len(key_id) != ID or seq < 1 or len(update) > MAX_UPDATE:
        raise RuntimeError("envelope fields out of range")
    body = codec.encode({"seq": seq, "key_id": key_id, "at": at, "update": update})
    return author + key.sign(DOMAIN + office_id + body) + body


def read_stored(blob: bytes) -> Envelope:
    """Decode an envelope from our own op log, verified before it was stored."""
    try:
        f = codec.Fields(codec.decode(blob[ID + crypto.SIG_SIZE :]), "envelope")
        return Envelope(blob[:ID], f.integer("seq"), f.blob("key_id", ID), f.integer("at"),
                        f.blob("update", max_size=MAX_UPDATE), blob)  # fmt: skip
    except DecodeError as exc:
        raise PeerError(f"a stored envelope is malformed: {exc}") from None


def author_of(blob: bytes) -> bytes:
    """Who claims to have signed `blob` (unverified: only to find the key to verify with)."""
    if len(blob) < ID:
        raise PeerError("envelope is truncated")
    return blob[:ID]


def verify(blob: bytes, office_id: bytes, signer_key: Callable[[bytes], bytes | None]) -> Envelope:
    """Check size and signature over the exact bytes, then decode; raise PeerError if bad.

    `signer_key(device_id)` returns the device's Ed25519 public key, or None
    for a device this office never enrolled.
    """
    if not ID + crypto.SIG_SIZE < len(blob) <= MAX_ENVELOPE:
        raise PeerError("envelope has an impossible size")
    author = blob[:ID]
    public = signer_key(author)
    if public is None:
        raise PeerError("envelope is signed by a device this office does not know")
    signature, body = blob[ID : ID + crypto.SIG_SIZE], blob[ID + crypto.SIG_SIZE :]
    try:
        crypto.verify(public, DOMAIN + office_id + body, signature)
    except CryptoError:
        raise PeerError("envelope signature is not valid") from None
    try:
        f = codec.Fields(codec.decode(body), "envelope").exactly("seq", "key_id", "at", "update")
        seq = f.integer("seq")
        if seq < 1:
            raise DecodeError("envelope sequence numbers start at 1")
        return Envelope(
            author=author,
            seq=seq,
            key_id=f.blob("key_id", ID),
            at=f.integer("at"),
            update=f.blob("update", max_size=MAX_UPDATE),
            blob=blob,
        )
    except DecodeError as exc:
        raise PeerError(f"envelope is malformed: {exc}") from None
