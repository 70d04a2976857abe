"""The one canonical binary encoding for everything that is signed or stored.

A value is one of: None, bool, int (signed 64-bit), bytes, str, list, or a
dict with str keys. Each value has exactly one encoding, so "the bytes that
were signed" and "the value that was meant" can never disagree:

    0x00 None | 0x01 False | 0x02 True
    0x03 int64 big-endian (8 bytes)
    0x04 bytes: u32 length, raw
    0x05 str:   u32 length, UTF-8
    0x06 list:  u32 count, items
    0x07 map:   u32 count, (str key, value) pairs, keys strictly ascending
                by their UTF-8 bytes

`decode` is strict: it rejects unknown tags, trailing bytes, unsorted or
duplicate keys, invalid UTF-8, and anything past the caps, and raises only
`DecodeError`. It allocates nothing larger than the input it was given.
It does not know what any value means; schemas live with their users.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import TypeAlias

from node.errors import DecodeError

Value: TypeAlias = "bool | int | bytes | str | Sequence[Value] | Mapping[str, Value] | None"

MAX_DEPTH = 16
MAX_ITEMS = 100_000
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1

_NONE, _FALSE, _TRUE, _INT, _BYTES, _STR, _LIST, _MAP = range(8)
_U32 = struct.Struct(">I")
_I64 = struct.Struct(">q")


def encode(value: Value) -> bytes:
    """Encode `value` canonically. Raises TypeError/ValueError on misuse."""
    out = bytearray()
    _encode(value, out, 0)
    return bytes(out)


def _encode(value: Value, out: bytearray, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError("value nested too deeply to encode")
    if value is None:
        out.append(_NONE)
    elif value is True:
        out.append(_TRUE)
    elif value is False:
        out.append(_FALSE)
    elif isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise ValueError("integer out of 64-bit range")
        out.append(_INT)
        out += _I64.pack(value)
    elif isinstance(value, bytes | bytearray | memoryview):
        out.append(_BYTES)
        out += _U32.pack(len(value))
        out += value
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        out.append(_STR)
        out += _U32.pack(len(raw))
        out += raw
    elif isinstance(value, Mapping):
        items = sorted((k.encode("utf-8"), v) for k, v in value.items())
        out.append(_MAP)
        out += _U32.pack(len(items))
        for key, item in items:
            out.append(_STR)
            out += _U32.pack(len(key))
            out += key
            _encode(item, out, depth + 1)
    elif isinstance(value, Sequence):
        out.append(_LIST)
        out += _U32.pack(len(value))
        for item in value:
            _encode(item, out, depth + 1)
    else:
        raise TypeError(f"cannot encode {type(value).__name__}")


def decode(data: bytes) -> Value:
    """Decode exactly one canonical value from `data`, or raise DecodeError."""
    reader = _Reader(memoryview(data))
    value = reader.value(0)
    if reader.pos != len(data):
        raise DecodeError("trailing bytes after encoded value")
    return value


class _Reader:
    def __init__(self, view: memoryview) -> None:
        self.view = view
        self.pos = 0
        self.items = 0

    def take(self, n: int) -> memoryview:
        if n > len(self.view) - self.pos:
            raise DecodeError("encoded value is truncated")
        chunk = self.view[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def length(self) -> int:
        (n,) = _U32.unpack(self.take(4))
        return int(n)

    def count(self) -> int:
        n = self.length()
        self.items += n
        # Every item takes at least one byte: a count beyond what is left is a lie.
        if self.items > MAX_ITEMS or n > len(self.view) - self.pos:
            raise DecodeError("encoded collection is too large")
        return n

    def text(self) -> str:
        try:
            return str(self.take(self.length()), "utf-8")
        except UnicodeDecodeError:
            raise DecodeError("invalid UTF-8 in encoded string") from None

    def value(self, depth: int) -> Value:
        if depth > MAX_DEPTH:
            raise DecodeError("encoded value is nested too deeply")
        tag = self.take(1)[0]
        if tag == _NONE:
            return None
        if tag == _FALSE:
            return False
        if tag == _TRUE:
            return True
        if tag == _INT:
            return int(_I64.unpack(self.take(8))[0])
        if tag == _BYTES:
            return bytes(self.take(self.length()))
        if tag == _STR:
            return self.text()
        if tag == _LIST:
            return [self.value(depth + 1) for _ in range(self.count())]
        if tag == _MAP:
            return self.mapping(depth)
        raise DecodeError("unknown tag in encoded value")

    def mapping(self, depth: int) -> dict[str, Value]:
        result: dict[str, Value] = {}
        previous: bytes | None = None
        for _ in range(self.count()):
            if self.take(1)[0] != _STR:
                raise DecodeError("map key is not a string")
            raw = bytes(self.take(self.length()))
            if previous is not None and raw <= previous:
                raise DecodeError("map keys are not in canonical order")
            previous = raw
            try:
                key = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise DecodeError("invalid UTF-8 in map key") from None
            result[key] = self.value(depth + 1)
        return result


class Fields:
    """Typed access to a decoded map; every miss or mistype is a DecodeError.

    Schemas read their fields through this, so a hostile file or peer can
    only ever produce a DecodeError, never a KeyError or TypeError.
    """

    def __init__(self, value: Value, what: str) -> None:
        if not isinstance(value, dict):
            raise DecodeError(f"{what} is not a map")
        self._map: dict[str, Value] = value
        self._what = what

    def _get(self, key: str) -> Value:
        if key not in self._map:
            raise DecodeError(f"{self._what} lacks field {key!r}")
        return self._map[key]

    def integer(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise DecodeError(f"{self._what} field {key!r} is not an integer")
        return value

    def blob(self, key: str, size: int | None = None, max_size: int | None = None) -> bytes:
        value = self._get(key)
        if not isinstance(value, bytes):
            raise DecodeError(f"{self._what} field {key!r} is not bytes")
        if size is not None and len(value) != size:
            raise DecodeError(f"{self._what} field {key!r} has the wrong length")
        if max_size is not None and len(value) > max_size:
            raise DecodeError(f"{self._what} field {key!r} is too long")
        return value

    def text(self, key: str, max_len: int = 256) -> str:
        value = self._get(key)
        if not isinstance(value, str) or len(value) > max_len:
            raise DecodeError(f"{self._what} field {key!r} is not a short string")
        return value

    def array(self, key: str, max_len: int = 10_000) -> list[Value]:
        value = self._get(key)
        if not isinstance(value, list) or len(value) > max_len:
            raise DecodeError(f"{self._what} field {key!r} is not a short list")
        return value

    def sub(self, key: str) -> Fields:
        return Fields(self._get(key), f"{self._what}.{key}")

    def raw(self) -> dict[str, Value]:
        return self._map

    def keys(self) -> set[str]:
        return set(self._map)

    def exactly(self, *keys: str) -> Fields:
        """Reject unknown fields: what was signed must be exactly what we read."""
        if set(self._map) != set(keys):
            raise DecodeError(f"{self._what} has unexpected or missing fields")
        return self
