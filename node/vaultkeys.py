"""Vault keys: opening the ring this device can read, sealing it, making the next epoch.

The vault key encrypts entries. Each epoch's key is sealed to every device
that was active when it was made and to the office root (so a recovered
admin can open them all); a newly enrolled device gets every earlier key in
its enrolment record. No I/O; keys are bytearrays the caller wipes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from node import crypto, tokens
from node.errors import PeerError
from node.identity import Identity
from node.membership_state import State
from node.records import Enroll, Record, Rotate


def open_ring(state: State, valid: Iterable[Record], identity: Identity) -> dict[bytes, bytearray]:
    """Every vault key (by key id) that `identity` can open from the membership."""
    me = identity.device_id
    opened: dict[bytes, bytearray] = {}
    root_box = identity.root.box_keys() if identity.root else None
    for kid, epoch in state.keys.items():
        with contextlib.suppress(PeerError):
            if me in epoch.sealed:
                opened[kid] = identity.box.unseal(epoch.sealed[me])
            elif root_box is not None:
                opened[kid] = root_box.unseal(epoch.root_sealed)
    for rec in valid:
        if not isinstance(rec.payload, Enroll) or tokens.subject_of(rec.payload.token) != me:
            continue
        for kid, sealed in rec.payload.keys.items():
            if kid not in opened:
                with contextlib.suppress(PeerError):
                    opened[kid] = identity.box.unseal(sealed)
    return opened


def seal_ring(ring: dict[bytes, bytearray], box_public: bytes) -> dict[bytes, bytes]:
    return {kid: crypto.seal(box_public, key) for kid, key in ring.items()}


def wipe_ring(ring: dict[bytes, bytearray]) -> None:
    for key in ring.values():
        crypto.wipe(key)


def new_epoch(state: State) -> Rotate:
    """A fresh key, sealed to every active device and the root, one epoch past the newest."""
    key = bytearray(crypto.random_bytes(crypto.KEY_SIZE))
    try:
        return Rotate(
            epoch=state.max_epoch() + 1,
            key_id=crypto.random_bytes(crypto.ID_SIZE),
            sealed={
                m.device_id: crypto.seal(m.capability.box_public, key)
                for m in state.active_members()
            },
            root_sealed=crypto.seal(crypto.box_public_of_signing_key(state.root_public), key),
        )
    finally:
        crypto.wipe(key)
