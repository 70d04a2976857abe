"""What an update to the vault document may contain, decided from its bytes alone.

The vault document is one root map, "entries", in which every value is
written once, under a key named after the Y item that holds it:
`version_key(client, clock)`. Nothing is ever overwritten, nothing is nested,
and no item has an origin, so every item's meaning is fixed by the update
that carries it and no replica's local state can change how it is judged
(DESIGN.md, "The hard part"). Deleting (an admin's purge) is the only act
that touches other items, and only admins may do it.

`check` applies these structural rules; what the values say (an add or an
edit, and whether the author's role allows it) is the node's business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crdt import yupdate
from crdt.errors import UpdateError
from crdt.yupdate import DeleteRange

ROOT = "entries"
_KEY = re.compile(r"(0|[1-9a-f][0-9a-f]{0,13})\.(0|[1-9a-f][0-9a-f]{0,7})")


def version_key(client: int, clock: int) -> str:
    """The one key an item written by `client` at `clock` may sit under."""
    return f"{client:x}.{clock:x}"


def parse_version_key(key: str) -> tuple[int, int]:
    """(client, clock) of a canonical version key; UpdateError otherwise."""
    match = _KEY.fullmatch(key)
    if match is None:
        raise UpdateError("not a version key")
    client, clock = int(match[1], 16), int(match[2], 16)
    if client > yupdate.MAX_CLIENT or clock > yupdate.MAX_CLOCK:
        raise UpdateError("not a version key")
    return client, clock


@dataclass(frozen=True)
class Change:
    """An update that passed the structural rules."""

    values: tuple[tuple[str, bytes], ...]  # (version key, value), in clock order
    deletes: tuple[DeleteRange, ...]
    end_clock: int  # the author's next clock after this update


def check(update: bytes, client: int, first_clock: int, may_delete: bool) -> Change:
    """Decode `update` and hold it to the rules, or raise UpdateError.

    `client` is the Y client id of the device that signed it and
    `first_clock` the end clock of that device's previous update: every
    item must be the author's own, continuing exactly where it left off.
    """
    decoded = yupdate.decode(update)
    if decoded.client is not None and decoded.client != client:
        raise UpdateError("an item under another device's client id")
    if decoded.items and decoded.first_clock != first_clock:
        raise UpdateError("items do not continue the author's clock")
    values = []
    for item in decoded.items:
        if item.origin is not None or item.parent_item is not None or item.parent_root != ROOT:
            raise UpdateError("an item that is not a new top-level entry value")
        if item.key != version_key(item.id.client, item.id.clock):
            raise UpdateError("an item under a key other than its own version key")
        if not isinstance(item.value, bytes):
            raise UpdateError("an entry value that is not bytes")
        values.append((item.key, item.value))
    if decoded.deletes and not may_delete:
        raise UpdateError("a delete by a device that may not delete")
    if not values and not decoded.deletes:
        raise UpdateError("an empty update")
    end = decoded.end_clock if decoded.items else first_clock
    return Change(tuple(values), decoded.deletes, end)
