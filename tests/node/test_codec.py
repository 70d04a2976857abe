"""node.codec: the one canonical encoding, its strict decoder, and `Fields`.

Threat covered: everything signed or stored goes through this decoder, and
its input comes from peers and from files on disk. A hostile encoding must
only ever produce `DecodeError` (never another exception, a hang or a huge
allocation), and one value must have exactly one encoding so "what was
signed" and "what was meant" cannot disagree.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node import codec
from node.codec import MAX_DEPTH, MAX_ITEMS, Fields, Value
from node.errors import DecodeError


def u32(n: int) -> bytes:
    return struct.pack(">I", n)


def text(s: str) -> bytes:
    """A str item as the format writes it (tag 0x05, u32 length, UTF-8)."""
    raw = s.encode()
    return b"\x05" + u32(len(raw)) + raw


def nested_lists(depth: int) -> bytes:
    """`depth` one-item lists around a None: the None sits at nesting level `depth`."""
    return b"\x06\x00\x00\x00\x01" * depth + b"\x00"


def depth_of(value: Value) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


def typed(value: Value) -> Any:
    """A form of `value` in which True and 1 (and bytes and str) can never compare equal."""
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    if isinstance(value, dict):
        return ("map", sorted((k, typed(v)) for k, v in value.items()))
    return (type(value).__name__, value)


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=codec.INT_MIN, max_value=codec.INT_MAX)
    | st.binary(max_size=64)
    | st.text(max_size=32)
)
values: st.SearchStrategy[Value] = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=20,
).filter(lambda v: depth_of(v) <= MAX_DEPTH)


def mutated(data: bytes, draw_ops: list[tuple[int, int, int]]) -> bytes:
    """Apply (kind, position, byte) edits to `data`: flip, delete, insert, truncate."""
    out = bytearray(data)
    for kind, pos, byte in draw_ops:
        if not out:
            out.append(byte)
            continue
        i = pos % len(out)
        if kind == 0:
            out[i] ^= byte or 1
        elif kind == 1:
            del out[i]
        elif kind == 2:
            out.insert(i, byte)
        else:
            del out[i:]
    return bytes(out)


edits = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 2**16), st.integers(0, 255)), min_size=1, max_size=4
)
# Arbitrary bytes rarely get past the first tag, so also feed damaged real encodings.
hostile_bytes = st.binary(max_size=256) | st.builds(mutated, values.map(codec.encode), edits)


# -- round trip and canonicity --------------------------------------------------


@given(values)
@settings(max_examples=150)
def test_decode_inverts_encode(value: Value) -> None:
    data = codec.encode(value)
    decoded = codec.decode(data)
    assert typed(decoded) == typed(value)
    assert codec.encode(decoded) == data


@given(values, values)
def test_encode_is_injective(a: Value, b: Value) -> None:
    """Two different values never share an encoding (so a signature binds one meaning)."""
    if typed(a) != typed(b):
        assert codec.encode(a) != codec.encode(b)
    else:
        assert codec.encode(a) == codec.encode(b)


@given(st.dictionaries(st.text(max_size=8), st.integers(-5, 5), max_size=8))
def test_map_encoding_ignores_insertion_order(mapping: dict[str, int]) -> None:
    reversed_order = dict(reversed(list(mapping.items())))
    assert codec.encode(reversed_order) == codec.encode(mapping)


@given(hostile_bytes)
@settings(max_examples=400)
def test_decode_of_any_bytes_is_canonical_or_decode_error(data: bytes) -> None:
    """Whatever comes in: either the unique encoding of a value, or DecodeError."""
    try:
        value = codec.decode(data)
    except DecodeError:
        return
    assert codec.encode(value) == data


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, b"\x00"),
        (False, b"\x01"),
        (True, b"\x02"),
        (1, b"\x03" + b"\x00" * 7 + b"\x01"),
        (-1, b"\x03" + b"\xff" * 8),
        (b"ab", b"\x04" + u32(2) + b"ab"),
        ("é", b"\x05" + u32(2) + "é".encode()),
        ([None], b"\x06" + u32(1) + b"\x00"),
        ({"b": None, "a": True}, b"\x07" + u32(2) + text("a") + b"\x02" + text("b") + b"\x00"),
    ],
    ids=["none", "false", "true", "one", "minus-one", "bytes", "str", "list", "map-sorted"],
)
def test_encoding_matches_the_documented_layout(value: Value, expected: bytes) -> None:
    assert codec.encode(value) == expected
    assert typed(codec.decode(expected)) == typed(value)


def test_nesting_exactly_at_the_limit_decodes() -> None:
    assert depth_of(codec.decode(nested_lists(MAX_DEPTH))) == MAX_DEPTH


def test_int64_bounds_round_trip() -> None:
    for n in (codec.INT_MIN, codec.INT_MAX, 0):
        assert codec.decode(codec.encode(n)) == n


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (2**63, ValueError),
        (-(2**63) - 1, ValueError),
        (1.5, TypeError),
        ({1, 2}, TypeError),
        (object(), TypeError),
    ],
    ids=["int-too-big", "int-too-small", "float", "set", "object"],
)
def test_encode_refuses_what_it_cannot_represent(value: Any, error: type[Exception]) -> None:
    """Misuse by our own code is a TypeError/ValueError, not a silent wrong encoding."""
    with pytest.raises(error):
        codec.encode(value)


def test_encode_refuses_nesting_past_the_limit() -> None:
    value: Value = None
    for _ in range(MAX_DEPTH + 1):
        value = [value]
    with pytest.raises(ValueError):
        codec.encode(value)


# -- hostile encodings -------------------------------------------------------------


HOSTILE: list[tuple[str, bytes]] = [
    ("unsorted-map-keys", b"\x07" + u32(2) + text("b") + b"\x00" + text("a") + b"\x00"),
    ("duplicate-map-keys", b"\x07" + u32(2) + text("a") + b"\x00" + text("a") + b"\x01"),
    ("non-string-map-key", b"\x07" + u32(1) + b"\x04" + u32(1) + b"a" + b"\x00"),
    ("int-map-key", b"\x07" + u32(1) + b"\x03" + b"\x00" * 8 + b"\x00"),
    ("trailing-bytes", b"\x00\x00"),
    ("trailing-bytes-after-map", b"\x07" + u32(0) + b"\xff"),
    ("truncated-length-field", b"\x04\x00\x00"),
    ("truncated-bytes-body", b"\x04" + u32(5) + b"ab"),
    ("truncated-int", b"\x03\x00\x00\x00"),
    ("truncated-list-items", b"\x06" + u32(3) + b"\x00\x00"),
    ("huge-bytes-length-4GB-short-buffer", b"\x04\xff\xff\xff\xff" + b"abc"),
    ("huge-str-length-4GB-short-buffer", b"\x05\xff\xff\xff\xff" + b"abc"),
    ("huge-list-count", b"\x06\xff\xff\xff\xff" + b"\x00" * 16),
    ("huge-map-count", b"\x07\xff\xff\xff\xff" + text("a") + b"\x00"),
    ("list-count-over-MAX_ITEMS", b"\x06" + u32(MAX_ITEMS + 1) + b"\x00" * (MAX_ITEMS + 1)),
    (
        "items-over-MAX_ITEMS-across-nested-lists",
        b"\x06" + u32(2) + (b"\x06" + u32(MAX_ITEMS // 2 + 1) + b"\x00" * (MAX_ITEMS // 2 + 1)) * 2,
    ),
    ("nesting-deeper-than-MAX_DEPTH", nested_lists(MAX_DEPTH + 1)),
    ("nesting-far-deeper-than-MAX_DEPTH", nested_lists(10_000)),
    ("invalid-utf8-in-str", b"\x05" + u32(1) + b"\xff"),
    ("overlong-utf8-nul-in-str", b"\x05" + u32(2) + b"\xc0\x80"),
    ("utf8-encoded-surrogate-in-str", b"\x05" + u32(3) + b"\xed\xa0\x80"),
    ("truncated-utf8-sequence-in-str", b"\x05" + u32(1) + b"\xc3"),
    ("invalid-utf8-in-map-key", b"\x07" + u32(1) + b"\x05" + u32(1) + b"\xff" + b"\x00"),
    ("unknown-tag-8", b"\x08"),
    ("unknown-tag-ff", b"\xff"),
    ("unknown-tag-inside-list", b"\x06" + u32(1) + b"\x09"),
    ("empty-input", b""),
]


@pytest.mark.parametrize("data", [d for _, d in HOSTILE], ids=[name for name, _ in HOSTILE])
def test_hostile_encoding_raises_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        codec.decode(data)
    assert str(info.value)


# -- Fields -----------------------------------------------------------------------------

SAMPLE: dict[str, Value] = {
    "n": 7,
    "flag": True,
    "blob": b"12345678",
    "name": "alice",
    "items": [1, 2, 3],
    "sub": {"x": 1},
    "nothing": None,
}


@pytest.mark.parametrize(
    "read",
    [
        lambda f: f.integer("missing"),
        lambda f: f.integer("flag"),
        lambda f: f.integer("name"),
        lambda f: f.integer("nothing"),
        lambda f: f.integer("blob"),
        lambda f: f.blob("missing"),
        lambda f: f.blob("name"),
        lambda f: f.blob("items"),
        lambda f: f.blob("blob", size=7),
        lambda f: f.blob("blob", size=9),
        lambda f: f.blob("blob", max_size=7),
        lambda f: f.text("missing"),
        lambda f: f.text("blob"),
        lambda f: f.text("n"),
        lambda f: f.text("name", max_len=4),
        lambda f: f.array("missing"),
        lambda f: f.array("sub"),
        lambda f: f.array("name"),
        lambda f: f.array("items", max_len=2),
        lambda f: f.sub("missing"),
        lambda f: f.sub("items"),
        lambda f: f.sub("nothing"),
        lambda f: f.sub("sub").integer("y"),
        lambda f: f.sub("sub").text("x"),
    ],
    ids=[
        "integer-missing",
        "bool-is-not-an-integer",
        "str-is-not-an-integer",
        "none-is-not-an-integer",
        "bytes-is-not-an-integer",
        "blob-missing",
        "str-is-not-bytes",
        "list-is-not-bytes",
        "blob-too-long-for-size",
        "blob-too-short-for-size",
        "blob-over-max-size",
        "text-missing",
        "bytes-is-not-text",
        "int-is-not-text",
        "text-over-max-len",
        "array-missing",
        "map-is-not-an-array",
        "str-is-not-an-array",
        "array-over-max-len",
        "sub-missing",
        "list-is-not-a-sub-map",
        "none-is-not-a-sub-map",
        "sub-field-missing",
        "sub-field-mistyped",
    ],
)
def test_fields_miss_or_mistype_is_decode_error(read: Callable[[Fields], object]) -> None:
    with pytest.raises(DecodeError):
        read(Fields(dict(SAMPLE), "sample"))


def test_fields_reads_well_typed_values() -> None:
    f = Fields(dict(SAMPLE), "sample")
    assert f.integer("n") == 7
    assert f.blob("blob", size=8) == b"12345678"
    assert f.blob("blob", max_size=8) == b"12345678"
    assert f.text("name", max_len=5) == "alice"
    assert f.array("items", max_len=3) == [1, 2, 3]
    assert f.sub("sub").integer("x") == 1
    assert f.keys() == set(SAMPLE)


@pytest.mark.parametrize(
    "value", [None, True, 3, b"map", "map", [("a", 1)]], ids=lambda v: type(v).__name__
)
def test_fields_of_a_non_map_is_decode_error(value: Value) -> None:
    with pytest.raises(DecodeError):
        Fields(value, "thing")


def test_fields_exactly_accepts_the_exact_set() -> None:
    f = Fields({"a": 1, "b": 2}, "pair")
    assert f.exactly("b", "a") is f


@pytest.mark.parametrize(
    ("value", "keys"),
    [
        ({"a": 1, "b": 2, "extra": 3}, ("a", "b")),
        ({"a": 1}, ("a", "b")),
        ({"a": 1, "c": 2}, ("a", "b")),
        ({}, ("a",)),
    ],
    ids=["extra-field", "missing-field", "renamed-field", "empty-map"],
)
def test_fields_exactly_rejects_anything_else(
    value: dict[str, Value], keys: tuple[str, ...]
) -> None:
    """What was signed must be exactly what is read: no smuggled extra fields."""
    with pytest.raises(DecodeError):
        Fields(value, "pair").exactly(*keys)


def test_fields_error_names_the_schema_and_field() -> None:
    with pytest.raises(DecodeError, match=r"keystore.*'n'"):
        Fields({"n": "x"}, "keystore").integer("n")
