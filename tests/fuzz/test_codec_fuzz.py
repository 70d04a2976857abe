"""Fuzzing node.codec.decode, the one decoder under every signed or stored format.

Threats: bytes from a peer or a file that crash the decoder, make it loop, or
make it allocate far more than it was given (a count or length that lies);
and two encodings of one value, so that "what was signed" and "what was read"
could differ. Only DecodeError may escape, and what decodes is canonical.
"""

from __future__ import annotations

import struct
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from node import codec
from node.errors import DecodeError
from tests.fuzz.hostile import FUZZ, damaged, outcome, values

# Regression examples: lies the grammar below produces, kept as literals.
LIES = {
    "list count of 4 G over five bytes": b"\x06\xff\xff\xff\xff" + b"\x00" * 5,
    "map count past MAX_ITEMS, one key": b"\x07\x00\x01\x86\xa1\x05\x00\x00\x00\x01a\x00",
    "bytes length past the end": b"\x04\x00\x00\x00\x09abc",
    "nested lists each claiming the rest": b"\x06\x00\x00\x00\x02" * 8 + b"\x00",
}


@st.composite
def _item(draw: st.DrawFn, depth: int) -> bytes:
    """One encoded item by the grammar, whose lengths and counts may lie."""
    tag = draw(st.integers(0, 9) if depth < 20 else st.integers(0, 5))
    if tag <= 2 or tag > 7:
        return bytes([tag])
    if tag == 3:
        return b"\x03" + draw(st.binary(min_size=8, max_size=8))
    if tag in (4, 5):
        body = draw(st.binary(max_size=12) if tag == 4 else st.text(max_size=6).map(str.encode))
        return bytes([tag]) + _u32(draw, len(body)) + body
    children = draw(st.lists(_item(depth + 1), max_size=3))
    if tag == 7:  # keys: encoded strings, in any order (canonical only by chance)
        keys = draw(st.lists(st.sampled_from(["a", "b", "é", ""]), min_size=len(children),
                             max_size=len(children)))  # fmt: skip
        children = [b"\x05" + struct.pack(">I", len(k.encode())) + k.encode() + c
                    for k, c in zip(keys, children, strict=True)]  # fmt: skip
    return bytes([tag]) + _u32(draw, len(children)) + b"".join(children)


def _u32(draw: st.DrawFn, honest: int) -> bytes:
    lie = st.sampled_from([honest + 1, honest - 1 if honest else 1, 0xFFFFFFFF, 100_001])
    return struct.pack(">I", draw(st.just(honest) | lie))


grammar = _item(0)
samples = st.lists(values.map(codec.encode), min_size=1, max_size=3).flatmap(damaged)


def _refused_or_canonical(data: bytes) -> None:
    value = outcome(lambda: codec.decode(data), DecodeError)
    if value is not None:
        assert codec.encode(value) == data


@FUZZ
@given(grammar | st.sampled_from(list(LIES.values())))
def test_encodings_with_lying_lengths_are_refused_or_canonical(data: bytes) -> None:
    """Threat: a length or count that claims more (or less) than follows, unsorted or
    duplicate keys, unknown tags, deep nesting: anything but DecodeError, or a second
    encoding of a value."""
    _refused_or_canonical(data)


@FUZZ
@given(samples)
def test_damaged_encodings_are_refused_or_canonical(data: bytes) -> None:
    """Threat: a real encoding cut, spliced, flipped or extended decodes to a value whose
    encoding differs from the bytes (so a signature over them means another value)."""
    _refused_or_canonical(data)


MEMORY_SLACK = 64 * 1024


@settings(FUZZ, max_examples=150)
@given(grammar | samples)
def test_decoding_allocates_in_proportion_to_the_input(data: bytes) -> None:
    """Threat: a count or length that lies makes the decoder allocate before it checks
    ("cap before allocating"). Python objects cost tens of bytes per encoded byte at most;
    a lie about gigabytes would cost far more than this bound."""
    tracemalloc.start()
    try:
        outcome(lambda: codec.decode(data), DecodeError)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= 100 * len(data) + MEMORY_SLACK
