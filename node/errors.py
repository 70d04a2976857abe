"""The one error hierarchy of OfficeVault.

Every error a user can see derives from `VaultError` and carries a one-line
message a user can act on. Errors are split by who is at fault:

- `UserError`: the person at the keyboard (bad input, wrong password, an act
  their role does not allow).
- `StorageError`: what is on this machine's disk (missing, corrupt, tampered).
- `PeerError`: bytes that came from somewhere else (a peer, a file someone
  handed us) and failed verification or decoding.
- `TransportError`: the network.

Crypto failures are one opaque `CryptoError`: callers never learn which check
failed, and no message ever contains key material or plaintext.

Misuse of an API by our own code raises `RuntimeError`/`TypeError`, never a
`VaultError`: those are bugs, not conditions to report.
"""

from __future__ import annotations


class VaultError(Exception):
    """Root of every error OfficeVault reports to a user."""


class UserError(VaultError):
    """The user asked for something that cannot be done as asked."""


class WrongPasswordError(UserError):
    """The password does not open this keystore."""


class PermissionDeniedError(UserError):
    """The acting device's role does not allow this act."""


class NotFoundError(UserError):
    """A named user, device, entry or invite does not exist."""


class InviteError(UserError):
    """An invite code is unknown, expired, used, or for another office."""


class StorageError(VaultError):
    """Local files are missing, unreadable, corrupt or were tampered with."""


class PeerError(VaultError):
    """Bytes from outside (a peer or a file) failed verification or decoding."""


class DecodeError(PeerError):
    """Bytes are not a well-formed, canonical encoding of what was expected."""


class CryptoError(PeerError):
    """A signature, MAC or decryption failed. Deliberately says no more."""


class InvalidTokenError(PeerError):
    """A capability token is forged, expired, foreign or not valid for the act."""


class InvalidRecordError(PeerError):
    """A membership record is malformed or not authorised."""


class HelperError(VaultError):
    """A helper process of this PC (node/isolated.py) could not run or failed."""


class TransportError(VaultError):
    """The network failed or a peer misbehaved at the transport level."""
