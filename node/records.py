"""Membership records: signed, content-addressed statements about who may do what.

Wire form: signer_id (16) | signature (64) | body. The signature covers
DOMAIN | office_id | body (office_id is the verifier's pinned office). The
record's id is a hash of the whole wire form. Records name the records their
author had seen as `parents`, so the log is a DAG and the fold in
membership.py can judge each record by what its author knew.

This module signs, verifies and decodes single records; it makes no
decisions about authority (that is the fold's job).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from node import codec, crypto
from node.codec import Fields, Value
from node.errors import CryptoError, DecodeError, InvalidRecordError
from node.tokens import MAX_NAME, MAX_TOKEN_SIZE

DOMAIN = b"OfficeVault membership record v1\x00"
ID_DOMAIN = b"OfficeVault record id v1"
MAX_RECORD_SIZE = 64 * 1024
MAX_PARENTS = 64
MAX_RECIPIENTS = 1024
MAX_REQUEST_SIZE = 4096
ID = crypto.ID_SIZE
SEALED_KEY_SIZE = 32 + 48  # crypto_box_seal of a 32-byte key

Kind = Literal["genesis", "enroll", "role", "revoke", "rotate", "invite"]


@dataclass(frozen=True)
class Genesis:
    office_name: str
    root_public: bytes


@dataclass(frozen=True)
class Enroll:
    token: bytes
    request: bytes  # the device's own signed join request: binds its user name and box key
    invite_id: bytes | None
    keys: dict[bytes, bytes]  # vault key id -> that key sealed to the new device


@dataclass(frozen=True)
class RoleChange:
    token: bytes
    # Envelopes of the device up to this sequence keep the role it had before
    # (what the signer had seen of its op log); later ones get the new role.
    cutoff: int = 0


@dataclass(frozen=True)
class Revoke:
    device_id: bytes
    cutoff: int  # highest per-device envelope sequence still accepted
    reason: str


@dataclass(frozen=True)
class Rotate:
    epoch: int
    key_id: bytes
    sealed: dict[bytes, bytes]  # device_id -> vault key sealed to its X25519 key
    root_sealed: bytes  # the same key sealed to the office root (for recovery)


@dataclass(frozen=True)
class Invite:
    invite_id: bytes
    nameplate: int
    user: str
    role: str
    expires: int
    sealed: dict[bytes, bytes]  # admin device_id (or office id) -> sealed code secret


Payload = Genesis | Enroll | RoleChange | Revoke | Rotate | Invite


@dataclass(frozen=True)
class Record:
    """A verified, decoded record."""

    id: bytes
    signer_id: bytes
    kind: Kind
    parents: tuple[bytes, ...]
    at: int
    payload: Payload
    blob: bytes


def record_id(blob: bytes) -> bytes:
    return crypto.digest(ID_DOMAIN, blob)[:ID]


def sign(
    signer_id: bytes,
    key: crypto.SigningKeyPair,
    office_id: bytes,
    parents: list[bytes],
    at: int,
    payload: Payload,
) -> bytes:
    kind, fields = _fields_of(payload)
    body = codec.encode({"kind": kind, "parents": sorted(parents), "at": at, "data": fields})
    return signer_id + key.sign(DOMAIN + office_id + body) + body


def split(blob: bytes) -> tuple[bytes, bytes, bytes]:
    """Cut a wire record into (signer_id, signature, body) without decoding anything."""
    if not ID + crypto.SIG_SIZE < len(blob) <= MAX_RECORD_SIZE:
        raise InvalidRecordError("membership record has an impossible size")
    return blob[:ID], blob[ID : ID + crypto.SIG_SIZE], blob[ID + crypto.SIG_SIZE :]


def verify(blob: bytes, office_id: bytes, signer_public: bytes) -> Record:
    """Check the signature over the exact bytes, then decode."""
    signer_id, signature, body = split(blob)
    try:
        crypto.verify(signer_public, DOMAIN + office_id + body, signature)
    except CryptoError:
        raise InvalidRecordError("membership record signature is not valid") from None
    try:
        f = Fields(codec.decode(body), "record").exactly("kind", "parents", "at", "data")
        parents = tuple(_id(p) for p in f.array("parents", MAX_PARENTS))
        if list(parents) != sorted(set(parents)):
            raise DecodeError("record parents are not sorted and unique")
        kind = f.text("kind")
        payload = _parse(kind, f.sub("data"))
        return Record(
            id=record_id(blob),
            signer_id=signer_id,
            kind=kind,  # type: ignore[arg-type]  # checked by _parse
            parents=parents,
            at=f.integer("at"),
            payload=payload,
            blob=blob,
        )
    except DecodeError as exc:
        raise InvalidRecordError(f"membership record is malformed: {exc}") from None


def _id(value: Value) -> bytes:
    if not isinstance(value, bytes) or len(value) != ID:
        raise DecodeError("not an id")
    return value


def _pairs(value: list[Value], size: int | None) -> dict[bytes, bytes]:
    result: dict[bytes, bytes] = {}
    for item in value:
        if not isinstance(item, list) or len(item) != 2:
            raise DecodeError("not a pair")
        key, sealed = _id(item[0]), item[1]
        if not isinstance(sealed, bytes) or (size is not None and len(sealed) != size):
            raise DecodeError("bad sealed value")
        if key in result:
            raise DecodeError("duplicate recipient")
        result[key] = sealed
    if list(result) != sorted(result):
        raise DecodeError("recipients not sorted")
    return result


def _encode_pairs(pairs: dict[bytes, bytes]) -> list[Value]:
    return [[k, v] for k, v in sorted(pairs.items())]


def _fields_of(p: Payload) -> tuple[Kind, dict[str, Value]]:
    if isinstance(p, Genesis):
        return "genesis", {"office_name": p.office_name, "root_public": p.root_public}
    if isinstance(p, Enroll):
        return "enroll", {
            "token": p.token,
            "request": p.request,
            "invite": p.invite_id,
            "keys": _encode_pairs(p.keys),
        }
    if isinstance(p, RoleChange):
        return "role", {"token": p.token, "cutoff": p.cutoff}
    if isinstance(p, Revoke):
        return "revoke", {"device": p.device_id, "cutoff": p.cutoff, "reason": p.reason}
    if isinstance(p, Rotate):
        return "rotate", {
            "epoch": p.epoch,
            "key_id": p.key_id,
            "sealed": _encode_pairs(p.sealed),
            "root_sealed": p.root_sealed,
        }
    return "invite", {
        "invite_id": p.invite_id,
        "nameplate": p.nameplate,
        "user": p.user,
        "role": p.role,
        "expires": p.expires,
        "sealed": _encode_pairs(p.sealed),
    }


def _parse(kind: str, f: Fields) -> Payload:
    if kind == "genesis":
        f.exactly("office_name", "root_public")
        name = f.text("office_name", 128)
        if not name.isprintable():
            raise DecodeError("office name has unprintable characters")
        return Genesis(name, f.blob("root_public", 32))
    if kind == "enroll":
        f.exactly("token", "request", "invite", "keys")
        invite = f.raw()["invite"]
        return Enroll(
            token=f.blob("token", max_size=MAX_TOKEN_SIZE),
            request=f.blob("request", max_size=MAX_REQUEST_SIZE),
            invite_id=None if invite is None else _id(invite),
            keys=_pairs(f.array("keys", MAX_RECIPIENTS), SEALED_KEY_SIZE),
        )
    if kind == "role":
        f.exactly("token", "cutoff")
        return RoleChange(f.blob("token", max_size=MAX_TOKEN_SIZE), f.integer("cutoff"))
    if kind == "revoke":
        f.exactly("device", "cutoff", "reason")
        return Revoke(f.blob("device", ID), f.integer("cutoff"), f.text("reason", 256))
    if kind == "rotate":
        f.exactly("epoch", "key_id", "sealed", "root_sealed")
        return Rotate(
            epoch=f.integer("epoch"),
            key_id=f.blob("key_id", ID),
            sealed=_pairs(f.array("sealed", MAX_RECIPIENTS), SEALED_KEY_SIZE),
            root_sealed=f.blob("root_sealed", SEALED_KEY_SIZE),
        )
    if kind == "invite":
        f.exactly("invite_id", "nameplate", "user", "role", "expires", "sealed")
        return Invite(
            invite_id=f.blob("invite_id", ID),
            nameplate=f.integer("nameplate"),
            user=f.text("user", MAX_NAME),
            role=f.text("role", 16),
            expires=f.integer("expires"),
            sealed=_pairs(f.array("sealed", MAX_RECIPIENTS), None),
        )
    raise DecodeError("unknown record kind")
