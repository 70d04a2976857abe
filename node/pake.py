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

from node.errors import PeerError

ID_CLIENT = b"OfficeVault join: new PC"
ID_SERVER = b"OfficeVault join: admin node"
MESSAGE_SIZE = 33


class Side:
    """One side of the exchange. `message` goes to the other side; `finish` takes its reply."""

    def __init__(self, secret: bytes, nameplate: int, server: bool) -> None:
        # spake2 (and the cryptography library under it, ~7 MB) only when someone joins
        from spake2 import SPAKE2_A, SPAKE2_B  # noqa: PLC0415

        password = nameplate.to_bytes(4, "big") + secret
        cls = SPAKE2_B if server else SPAKE2_A
        self._pake = cls(password, idA=ID_CLIENT, idB=ID_SERVER)
        self.server = server
        self.message = bytes(self._pake.start())
        self.key = b""
        self._transcript = b""

    def finish(self, theirs: bytes) -> bytes:
        """The shared session key (equal on both sides only if both knew the code)."""
        if len(theirs) != MESSAGE_SIZE:
            raise PeerError("a malformed key-exchange message")
        try:
            self.key = bytes(self._pake.finish(theirs))
        except Exception:  # spake2 raises its own errors (and ValueError) on bad points
            raise PeerError("a malformed key-exchange message") from None
        mine = self.message
        client, server = (theirs, mine) if self.server else (mine, theirs)
        self._transcript = client + server
        return self.key

    def confirmation(self, of_server: bool) -> bytes:
        label = b"server confirms" if of_server else b"client confirms"
        return hmac.new(self.key, label + self._transcript, hashlib.sha256).digest()

    def check(self, theirs: bytes) -> bool:
        """Did the other side derive the same key (that is: know the same code)?"""
        return hmac.compare_digest(theirs, self.confirmation(of_server=not self.server))
