"""`VaultDoc`: the one pycrdt document of an office, as a write-once map of byte values.

Nothing outside crdt/ touches Y types. Values go in under their version keys
(crdt.rules) and come out as bytes; listeners hear of every value that
appears or disappears, whether the change was local or applied from an
update, so a plain-Python view can follow the document without ever
rebuilding it from a whole-document dump.

Only apply updates that passed `rules.check`: pycrdt trusts what it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pycrdt

from crdt.errors import UpdateError
from crdt.rules import ROOT, version_key

Listener = Callable[[list[tuple[str, bytes]], list[str]], None]


class VaultDoc:
    def __init__(self, client_id: int) -> None:
        self.client_id = client_id
        self._doc: pycrdt.Doc[pycrdt.Map[bytes]] = pycrdt.Doc(client_id=client_id)
        self._map: pycrdt.Map[bytes] = self._doc.get(ROOT, type=pycrdt.Map)
        self._listeners: list[Listener] = []
        self._captured: list[bytes] = []
        self._capturing = False
        self._doc.observe(self._on_transaction)
        self._map.observe(self._on_map)

    # -- reading -------------------------------------------------------------
    def get(self, key: str) -> bytes | None:
        value = self._map.get(key)
        return None if value is None else bytes(value)

    def __contains__(self, key: str) -> bool:
        return key in self._map

    def __len__(self) -> int:
        return len(self._map)

    def items(self) -> Iterator[tuple[str, bytes]]:
        for key, value in self._map.items():
            yield key, bytes(value)

    def next_clock(self) -> int:
        """The clock this document's own next item will get."""
        return _state_vector(self._doc.get_state()).get(self.client_id, 0)

    def state(self) -> dict[int, int]:
        return _state_vector(self._doc.get_state())

    def snapshot(self) -> bytes:
        """The whole document as one update (to store, and to load with `apply`)."""
        return bytes(self._doc.get_update())

    # -- changing ------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def write(
        self, values: Sequence[bytes], deletes: Sequence[str] = ()
    ) -> tuple[list[str], bytes]:
        """Add `values` under fresh version keys and delete `deletes`, in one transaction.

        Returns the new keys and the update that carries exactly this change.
        """
        clock = self.next_clock()
        keys = [version_key(self.client_id, clock + i) for i in range(len(values))]
        self._captured, self._capturing = [], True
        try:
            with self._doc.transaction():
                for key, value in zip(keys, values, strict=True):
                    self._map[key] = bytes(value)
                for key in deletes:
                    if key in self._map:
                        del self._map[key]
        finally:
            self._capturing = False
        if len(self._captured) != 1:
            raise RuntimeError("a local write produced no single update")
        return keys, self._captured.pop()

    def apply(self, update: bytes) -> None:
        """Merge an update that already passed `rules.check`."""
        try:
            self._doc.apply_update(update)
        except (ValueError, RuntimeError):
            raise UpdateError("the document refused an update") from None

    def skip(self, client: int, start: int, end: int) -> None:
        """Mark clocks start..end-1 of `client` as used by nothing (a GC struct).

        The items of an envelope judged invalid are never applied, but the
        author's later envelopes continue after them; filling the range keeps
        every replica's state vector, and the author's own next clock, equal
        to what judging expects.
        """
        if end > start:
            gc = _uint(1) + _uint(1) + _uint(client) + _uint(start) + b"\x00" + _uint(end - start)
            self.apply(gc + _uint(0))

    def apply_deletes(self, ranges: Sequence[tuple[int, int, int]]) -> None:
        """Apply (client, clock, length) deletes again, e.g. after loading a snapshot.

        A snapshot does not carry deletes of items not yet received; without
        them, such an item arriving later would stay.
        """
        by_client: dict[int, list[tuple[int, int]]] = {}
        for client, clock, length in ranges:
            by_client.setdefault(client, []).append((clock, length))
        if not by_client:
            return
        out = bytearray(_uint(0) + _uint(len(by_client)))
        for client, spans in sorted(by_client.items()):
            out += _uint(client) + _uint(len(spans))
            for clock, length in sorted(spans):
                out += _uint(clock) + _uint(length)
        self.apply(bytes(out))

    # -- events --------------------------------------------------------------
    def _on_transaction(self, event: pycrdt.TransactionEvent) -> None:
        if self._capturing:
            self._captured.append(bytes(event.update))

    def _on_map(self, event: pycrdt.MapEvent) -> None:
        added: list[tuple[str, bytes]] = []
        removed: list[str] = []
        for key, change in event.keys.items():  # type: ignore[attr-defined]
            action = change["action"]
            if action == "add":
                added.append((key, bytes(change["newValue"])))
            elif action == "delete":
                removed.append(key)
            else:  # an overwrite: rules.check never lets one through
                removed.append(key)
                added.append((key, bytes(change["newValue"])))
        for listener in list(self._listeners):
            listener(added, removed)


def _uint(value: int) -> bytes:
    """A lib0 varuint."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _state_vector(data: bytes) -> dict[int, int]:
    """Decode a Y state vector: varuint count, then (client, clock) varuint pairs."""
    pos = 0

    def uint() -> int:
        nonlocal pos
        value, shift = 0, 0
        while True:
            b = data[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value

    count = uint()
    return {uint(): uint() for _ in range(count)}
