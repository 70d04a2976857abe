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

from crdt import yupdate
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
        return yupdate.state_vector(self._doc.get_state()).get(self.client_id, 0)

    def state(self) -> dict[int, int]:
        return yupdate.state_vector(self._doc.get_state())

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
            gc = (
                yupdate.uint(1)
                + yupdate.uint(1)
                + yupdate.uint(client)
                + yupdate.uint(start)
                + b"\x00"
                + yupdate.uint(end - start)
            )
            self.apply(gc + yupdate.uint(0))

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
        out = bytearray(yupdate.uint(0) + yupdate.uint(len(by_client)))
        for client, spans in sorted(by_client.items()):
            out += yupdate.uint(client) + yupdate.uint(len(spans))
            for clock, length in sorted(spans):
                out += yupdate.uint(clock) + yupdate.uint(length)
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
