"""The running node's status as other programs on this PC read it: `officevault peers`
and the window's status bar. The node rewrites it in the store's meta table when it
changes and at least every STATUS_EVERY seconds; older than three of those, no node
is running for this data folder.

Kept apart from node/runner.py so a reader does not import the network stack.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

STATUS_EVERY = 10.0  # seconds: the node rewrites its status at least this often
STATUS_META = "node_status"


class MetaReader(Protocol):
    def get_meta(self, key: str) -> bytes | None: ...


def read(store: MetaReader, now: float) -> dict[str, Any] | None:
    """The node's last status, or None if no node has written one lately."""
    raw = store.get_meta(STATUS_META)
    try:
        status = json.loads(raw) if raw else None
    except ValueError:
        return None
    if not isinstance(status, dict):
        return None
    at = status.get("at", 0)
    if not isinstance(at, int | float) or now - at > 3 * STATUS_EVERY:
        return None
    return status
