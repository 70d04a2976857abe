"""Version records and their sealed fields: strict layout, and fields bound to their place.

Threats covered: a peer's (admin-signed, so judged valid) version whose
bytes are truncated, padded, of an unknown format or kind, with fields out
of order, twice, unknown or oversized, or with too many bases: each one a
DecodeError, never another exception (decoding runs on every replica, for
every value). And SECURITY_TESTS 3 and 4: a sealed field with any byte
flipped, or moved to another field, entry, key id or office, does not open.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdt.rules import version_key
from node import crypto, versions
from node.entry_fields import FIELDS
from node.errors import CryptoError, DecodeError
from node.versions import FORMAT, MAX_BASE, MAX_SEALED, Kind

KEY = bytes(range(32))
OFFICE, ENTRY, AUTHOR, KEY_ID = (bytes([n]) * 16 for n in (1, 2, 3, 4))
NONCE = bytes([5]) * 16
AT = 1_800_000_000
BASE = ("3e8.0", "3e9.a")
FIELDS_OF = {name: f"sealed {name}".encode() for name in FIELDS}  # opaque to the layout


def encoded(kind: Kind = Kind.EDIT) -> bytes:
    nonce = NONCE if kind is Kind.ADD else None
    base = BASE if kind is Kind.EDIT else ()
    fields = FIELDS_OF if kind in (Kind.ADD, Kind.EDIT) else {}
    return versions.encode(kind, ENTRY, AUTHOR, KEY_ID, AT, nonce, base, fields)


# -- layout -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(Kind), ids=[k.name.lower() for k in Kind])
def test_every_kind_round_trips(kind: Kind) -> None:
    v = versions.decode("3ea.5", encoded(kind))
    assert (v.key, v.kind, v.entry, v.author, v.key_id, v.at) == (
        "3ea.5", kind, ENTRY, AUTHOR, KEY_ID, AT,
    )  # fmt: skip
    assert v.nonce == (NONCE if kind is Kind.ADD else None)
    assert v.base == (BASE if kind is Kind.EDIT else ())
    assert v.fields == (FIELDS_OF if kind in (Kind.ADD, Kind.EDIT) else {})
    assert v.clock == 5


@pytest.mark.parametrize(
    "at", [0, -1, -(2**63), 2**63 - 1], ids=["zero", "minus-one", "min", "max"]
)
def test_times_are_signed_64_bit(at: int) -> None:
    data = versions.encode(Kind.TRASH, ENTRY, AUTHOR, KEY_ID, at, None, (), {})
    assert versions.decode("0.0", data).at == at


def test_some_fields_only_in_field_order() -> None:
    fields = {"notes": b"n", "title": b"t"}
    data = versions.encode(Kind.EDIT, ENTRY, AUTHOR, KEY_ID, AT, None, BASE, fields)
    assert list(versions.decode("0.0", data).fields) == ["title", "notes"]


def hand_made(
    *,
    fmt: int = FORMAT,
    kind: int = Kind.EDIT,
    base: list[tuple[int, int]] | None = None,
    fields: list[tuple[int, bytes]] | None = None,
    base_count: int | None = None,
    field_count: int | None = None,
    sizes: dict[int, int] | None = None,
) -> bytes:
    """Any version layout, however hostile (counts and sizes can lie)."""
    base = [(1000, 0)] if base is None else base
    fields = [(i, FIELDS_OF[n]) for i, n in enumerate(FIELDS)] if fields is None else fields
    out = bytearray(struct.pack(">BB16s16s16sq", fmt, kind, ENTRY, AUTHOR, KEY_ID, AT))
    if kind == Kind.ADD:
        out += NONCE
    out.append(len(base) if base_count is None else base_count)
    for client, clock in base:
        out += struct.pack(">QI", client, clock)
    out.append(len(fields) if field_count is None else field_count)
    for n, (index, blob) in enumerate(fields):
        out += struct.pack(">BI", index, (sizes or {}).get(n, len(blob))) + blob
    return bytes(out)


def test_the_hand_made_layout_is_the_real_one() -> None:
    """Control for the table below: unchanged, it decodes."""
    assert hand_made() == versions.encode(
        Kind.EDIT, ENTRY, AUTHOR, KEY_ID, AT, None, ("3e8.0",), FIELDS_OF
    )
    assert hand_made(kind=Kind.ADD, base=[]).startswith(encoded(Kind.ADD)[:75])


HOSTILE = [
    ("empty", b""),
    ("header-only", hand_made()[:58]),
    ("trailing-byte", hand_made() + b"\x00"),
    ("trailing-field", hand_made(field_count=5)),
    ("format-0", hand_made(fmt=0)),
    ("format-2", hand_made(fmt=2)),
    ("kind-0", hand_made(kind=0)),
    ("kind-6", hand_made(kind=6)),
    ("kind-255", hand_made(kind=255)),
    ("add-without-its-nonce", hand_made(kind=Kind.ADD)[:58] + hand_made()[58:]),
    ("fields-out-of-order", hand_made(fields=[(2, b"p"), (0, b"t")])),
    ("field-twice", hand_made(fields=[(0, b"t"), (0, b"t")])),
    ("unknown-field-index", hand_made(fields=[(len(FIELDS), b"x")])),
    ("field-index-255", hand_made(fields=[(255, b"x")])),
    ("more-fields-declared-than-present", hand_made(field_count=7)),
    ("field-longer-than-the-data", hand_made(fields=[(0, b"t")], sizes={0: 2})),
    ("field-size-2**32-1", hand_made(fields=[(0, b"t")], sizes={0: 2**32 - 1})),
    ("oversized-field", hand_made(fields=[(0, bytes(MAX_SEALED + 1))])),
    ("too-many-bases", hand_made(base=[(1000, i) for i in range(MAX_BASE + 1)])),
    ("base-count-255", hand_made(base_count=255)),
    ("more-bases-declared-than-present", hand_made(base_count=2)),
    ("base-named-twice", hand_made(base=[(1000, 0), (1000, 0)])),
    # encode() refuses it (no item can have that id); decode must not accept what encode refuses
    ("base-naming-a-client-past-2**53", hand_made(base=[(2**53, 0)])),
]


@pytest.mark.parametrize("data", [h[1] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_layouts_are_refused(data: bytes) -> None:
    with pytest.raises(DecodeError):
        versions.decode("0.0", data)


def test_the_largest_allowed_field_and_base_list_decode() -> None:
    """Controls for the caps in the table: exactly at the limit is fine."""
    data = hand_made(base=[(1000, i) for i in range(MAX_BASE)], fields=[(0, bytes(MAX_SEALED))])
    v = versions.decode("0.0", data)
    assert len(v.base) == MAX_BASE and len(v.fields["title"]) == MAX_SEALED


@pytest.mark.parametrize("kind", list(Kind), ids=[k.name.lower() for k in Kind])
def test_every_truncation_is_refused(kind: Kind) -> None:
    data = encoded(kind)
    for end in range(len(data)):
        with pytest.raises(DecodeError):
            versions.decode("0.0", data[:end])


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        versions.decode("3e8.0", data)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(Kind)), st.data())
def test_mutated_versions_decode_or_raise_decode_error(kind: Kind, data: st.DataObject) -> None:
    raw = bytearray(encoded(kind))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    with contextlib.suppress(DecodeError):
        v = versions.decode("3e8.0", bytes(raw))
        assert len(v.base) <= MAX_BASE and set(v.fields) <= set(FIELDS)


# -- sealed fields --------------------------------------------------------------------------
def seal(value: str = "hunter2", name: str = "password") -> bytes:
    return versions.seal_field(KEY, OFFICE, ENTRY, name, KEY_ID, value)


def test_a_field_opens_where_it_was_sealed() -> None:
    sealed = seal("pässwörd ✓")
    assert versions.open_field(KEY, OFFICE, ENTRY, "password", KEY_ID, sealed) == "pässwörd ✓"
    assert b"p\xc3\xa4ssw" not in sealed
    assert seal() != seal()  # a fresh nonce each time


def test_every_flipped_byte_is_refused() -> None:
    sealed = seal()
    assert len(sealed) == crypto.NONCE_SIZE + len("hunter2") + crypto.TAG_SIZE
    for offset in range(len(sealed)):
        for bit in (0, 7):
            tampered = bytearray(sealed)
            tampered[offset] ^= 1 << bit
            with pytest.raises(CryptoError):
                versions.open_field(KEY, OFFICE, ENTRY, "password", KEY_ID, bytes(tampered))


Opener = Callable[[bytes], str]
OTHER = bytes([9]) * 16
MOVED: list[tuple[str, Opener]] = [
    ("to-another-field", lambda s: versions.open_field(KEY, OFFICE, ENTRY, "title", KEY_ID, s)),
    ("to-another-entry", lambda s: versions.open_field(KEY, OFFICE, OTHER, "password", KEY_ID, s)),
    ("to-another-key-id", lambda s: versions.open_field(KEY, OFFICE, ENTRY, "password", OTHER, s)),
    ("to-another-office", lambda s: versions.open_field(KEY, OTHER, ENTRY, "password", KEY_ID, s)),
    ("under-another-key",
     lambda s: versions.open_field(bytes(32), OFFICE, ENTRY, "password", KEY_ID, s)),
    ("truncated-tag",
     lambda s: versions.open_field(KEY, OFFICE, ENTRY, "password", KEY_ID, s[:-1])),
    ("nonce-only",
     lambda s: versions.open_field(KEY, OFFICE, ENTRY, "password", KEY_ID, s[:24])),
    ("empty", lambda s: versions.open_field(KEY, OFFICE, ENTRY, "password", KEY_ID, b"")),
    ("with-a-trailing-byte",
     lambda s: versions.open_field(KEY, OFFICE, ENTRY, "password", KEY_ID, s + b"\x00")),
]  # fmt: skip


@pytest.mark.parametrize("open_", [m[1] for m in MOVED], ids=[m[0] for m in MOVED])
def test_a_moved_or_cut_field_does_not_open(open_: Opener) -> None:
    with pytest.raises(CryptoError):
        open_(seal())


@pytest.mark.parametrize("name", [n for n in FIELDS if n != "password"])
def test_no_field_opens_under_another_fields_name(name: str) -> None:
    with pytest.raises(CryptoError):
        versions.open_field(KEY, OFFICE, ENTRY, name, KEY_ID, seal(name="password"))


def test_a_sealed_field_that_is_not_text_is_refused() -> None:
    """Only an insider with the key can make one; it must still not escape as UnicodeError."""
    aad = versions._aad(OFFICE, ENTRY, "notes", KEY_ID)
    sealed = crypto.aead_encrypt(KEY, b"\xff\xfe not utf-8", aad)
    with pytest.raises(CryptoError):
        versions.open_field(KEY, OFFICE, ENTRY, "notes", KEY_ID, sealed)


def test_version_keys_in_bases_are_the_canonical_ones() -> None:
    data = hand_made(base=[(0x3E8, 0x1A)])
    assert versions.decode("0.0", data).base == (version_key(0x3E8, 0x1A),) == ("3e8.1a",)
