"""A strict decoder for the Y update v1 bytes our vault document produces.

Validity of a change must be decided from the signed update alone, never from
the local document (DESIGN.md, "The hard part"), so the update is decoded
here, in pure Python, before pycrdt ever sees it. The decoder accepts only
the small subset of the format that the vault document writes, and rejects
everything else with `UpdateError`:

- at most one client section (two sections of one client with overlapping
  clocks crash yrs outright: see y_update_format.md);
- canonical (minimal) varuints, client ids below 2**53, clocks and lengths
  under caps, no trailing bytes;
- items only of the shapes a Map write makes: info 0x28/0x27 (no origin: a
  root type name or a parent item id, then the map key) or 0xa8/0xa7 (a left
  origin; parent and key are inherited from it); no right origins, no GC,
  Skip or Deleted structs;
- content only a nested Map (Type, type ref 1) or one Any value that is a
  byte string (tag 116) or a text string (tag 119);
- a delete set of (client, clock, length) ranges.

It says nothing about who may write what: that is the role check's job,
which works on the `Update` this returns. Format notes: y_update_format.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from crdt.errors import UpdateError

MAX_UPDATE = 1024 * 1024
MAX_CLIENT = 2**53 - 1
MAX_CLOCK = 2**32 - 1
MAX_STRUCTS = 10_000
MAX_RANGES = 10_000
MAX_KEY = 1024
MAX_VALUE = 256 * 1024

_NO_ORIGIN_MAP_ITEM = 0x27  # PARENT_SUB | content Type
_NO_ORIGIN_ANY_ITEM = 0x28  # PARENT_SUB | content Any
_ORIGIN = 0x80
_TYPE_REF_MAP = 1
_ANY_BUFFER = 116
_ANY_STRING = 119
_ALLOWED_INFO = {0x27, 0x28, 0xA7, 0xA8}


@dataclass(frozen=True, order=True)
class ItemId:
    client: int
    clock: int


@dataclass(frozen=True)
class Item:
    """One struct of the update: a map entry, or a nested map."""

    id: ItemId
    origin: ItemId | None  # set: an edit after that item (parent and key inherited)
    parent_root: str | None  # the root type's name, when there is no origin and no parent_item
    parent_item: ItemId | None  # the nested map this entry sits in
    key: str | None  # the map key; None when inherited through the origin
    value: bytes | str | None  # None for a nested map

    @property
    def is_map(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class DeleteRange:
    client: int
    clock: int
    length: int


@dataclass(frozen=True)
class Update:
    client: int | None  # the one client whose items this carries (None: deletes only)
    first_clock: int
    items: tuple[Item, ...]
    deletes: tuple[DeleteRange, ...]

    @property
    def end_clock(self) -> int:
        """The clock after this update's last item (the next one its client may use)."""
        return self.first_clock + len(self.items)


def decode(data: bytes) -> Update:
    """Decode `data` strictly, or raise UpdateError. Never any other exception."""
    if len(data) > MAX_UPDATE:
        raise UpdateError("update is too large")
    reader = _Reader(data)
    sections = reader.uint(1)
    client: int | None = None
    first, items = 0, tuple[Item, ...]()
    if sections == 1:
        client, first, items = _section(reader)
    deletes = _delete_set(reader)
    if reader.pos != len(data):
        raise UpdateError("trailing bytes after the update")
    return Update(client, first, items, deletes)


def state_vector(data: bytes) -> dict[int, int]:
    """Decode a Y state vector (varuint count, then client/clock pairs), strictly."""
    reader = _Reader(data)
    count = reader.uint(MAX_RANGES)
    vector = {reader.uint(MAX_CLIENT): reader.uint(MAX_CLOCK) for _ in range(count)}
    if reader.pos != len(data):
        raise UpdateError("trailing bytes after the state vector")
    return vector


def uint(value: int) -> bytes:
    """Encode a lib0 varuint (the shortest form, as `_Reader.uint` requires)."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if not value:
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def _section(reader: _Reader) -> tuple[int, int, tuple[Item, ...]]:
    count = reader.uint(MAX_STRUCTS)
    if count == 0:
        raise UpdateError("empty client section")
    client = reader.uint(MAX_CLIENT)
    clock = reader.uint(MAX_CLOCK)
    if clock + count > MAX_CLOCK:
        raise UpdateError("clock out of range")
    items = tuple(_item(reader, ItemId(client, clock + i)) for i in range(count))
    return client, clock, items


def _item(reader: _Reader, item_id: ItemId) -> Item:
    info = reader.byte()
    if info not in _ALLOWED_INFO:
        raise UpdateError("a kind of struct the vault document never writes")
    origin = parent_root = parent_item = key = None
    if info & _ORIGIN:
        origin = reader.item_id()
    else:
        kind = reader.uint(1)
        if kind == 1:
            parent_root = reader.text(MAX_KEY)
        else:
            parent_item = reader.item_id()
        key = reader.text(MAX_KEY)
    value: bytes | str | None = None
    if info & 0x0F == _NO_ORIGIN_MAP_ITEM & 0x0F:
        if reader.uint(_TYPE_REF_MAP) != _TYPE_REF_MAP:
            raise UpdateError("a nested type other than a map")
    else:
        if reader.uint(1) != 1:
            raise UpdateError("an Any content with other than one value")
        tag = reader.byte()
        if tag == _ANY_BUFFER:
            value = reader.blob(MAX_VALUE)
        elif tag == _ANY_STRING:
            value = reader.text(MAX_VALUE)
        else:
            raise UpdateError("a value that is neither bytes nor a string")
    return Item(item_id, origin, parent_root, parent_item, key, value)


def _delete_set(reader: _Reader) -> tuple[DeleteRange, ...]:
    ranges: list[DeleteRange] = []
    clients = reader.uint(MAX_RANGES)
    seen: set[int] = set()
    for _ in range(clients):
        client = reader.uint(MAX_CLIENT)
        if client in seen:
            raise UpdateError("a client twice in the delete set")
        seen.add(client)
        count = reader.uint(MAX_RANGES - len(ranges))
        if count == 0:
            raise UpdateError("a client with no ranges in the delete set")
        for _ in range(count):
            clock = reader.uint(MAX_CLOCK)
            length = reader.uint(MAX_CLOCK - clock)
            if length == 0:
                raise UpdateError("an empty delete range")
            ranges.append(DeleteRange(client, clock, length))
    return tuple(ranges)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise UpdateError("update is truncated")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def uint(self, limit: int) -> int:
        """A lib0 varuint in its shortest form, at most `limit`."""
        value, shift = 0, 0
        while True:
            b = self.byte()
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                if b == 0 and shift > 7:
                    raise UpdateError("a number is not in its shortest form")
                break
            if shift > 56:
                raise UpdateError("a number is too long")
        if value > limit:
            raise UpdateError("a number is out of range")
        return value

    def item_id(self) -> ItemId:
        client = self.uint(MAX_CLIENT)
        return ItemId(client, self.uint(MAX_CLOCK))

    def blob(self, limit: int) -> bytes:
        size = self.uint(limit)
        if size > len(self.data) - self.pos:
            raise UpdateError("update is truncated")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def text(self, limit: int) -> str:
        try:
            return self.blob(limit).decode("utf-8")
        except UnicodeDecodeError:
            raise UpdateError("a string is not valid UTF-8") from None
