"""The only module that imports spake2: a password-authenticated key exchange over an invite code.

An invite code's three words carry only 24 bits, so they must never be
checkable offline. SPAKE2 (as magic-wormhole uses it) gives both sides the
same 256-bit key only if both used the same code, and a passive or active
attacker learns nothing that lets them test guesses offline; each online
guess costs one attempt, which the admin node limits. Key confirmation
(an HMAC each way over the transcript) tells each side whether the other
really knew the code: the new PC learns it reached the real office (only an
admin who holds the invite knows the words), the admin that the code is
genuine.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from node.errors import PeerError

ID_CLIENT = b"OfficeVault join: new PC"
ID_SERVER = b"OfficeVault join: admin node"
MESSAGE_SIZE = 33


@dataclass(frozen=True)
class Session:
    """A finished exchange: the shared key, and the transcript both sides confirm."""

    server: bool
    key: bytes
    transcript: bytes  # the client's message, then the server's

    def __repr__(self) -> str:
        return f"Session(server={self.server}, key=<secret>)"

    def confirmation(self, of_server: bool) -> bytes:
        label = b"server confirms" if of_server else b"client confirms"
        return hmac.new(self.key, label + self.transcript, hashlib.sha256).digest()

    def check(self, theirs: bytes) -> bool:
        """Did the other side derive the same key (that is: know the same code)?"""
        return hmac.compare_digest(theirs, self.confirmation(of_server=not self.server))


class Side:
    """One side of the exchange. `message` goes to the other side; `finish` takes its reply."""

    def __init__(self, secret: bytes, nameplate: int, server: bool) -> None:
        # spake2 (and the cryptography library under it, ~12 MB) only when someone joins; the
        # long-running node never imports it (node/isolated.py runs `answer` in a child)
        from spake2 import SPAKE2_A, SPAKE2_B  # noqa: PLC0415

        password = nameplate.to_bytes(4, "big") + secret
        cls = SPAKE2_B if server else SPAKE2_A
        self._pake = cls(password, idA=ID_CLIENT, idB=ID_SERVER)
        self.server = server
        self.message = bytes(self._pake.start())

    def finish(self, theirs: bytes) -> Session:
        """The finished exchange (the keys are equal only if both sides knew the code)."""
        if len(theirs) != MESSAGE_SIZE:
            raise PeerError("a malformed key-exchange message")
        try:
            key = bytes(self._pake.finish(theirs))
        except Exception:  # spake2 raises its own errors (and ValueError) on bad points
            raise PeerError("a malformed key-exchange message") from None
        mine = self.message
        client, server = (theirs, mine) if self.server else (mine, theirs)
        return Session(self.server, key, client + server)


def answer(secret: bytes, nameplate: int, theirs: bytes) -> tuple[bytes, Session]:
    """The admin node's side in one go: its message, and the finished exchange."""
    side = Side(secret, nameplate, server=True)
    return side.message, side.finish(theirs)
