"""Errors of the vault document. node/ turns them into its own PeerError at the boundary.

crdt/ knows nothing of node/ (the arrows point one way), so it has its own
small root; nothing here carries plaintext or key material in a message.
"""

from __future__ import annotations


class CrdtError(Exception):
    """Root of the vault document's errors."""


class UpdateError(CrdtError):
    """Update bytes that are malformed or of a shape the vault document never writes."""
