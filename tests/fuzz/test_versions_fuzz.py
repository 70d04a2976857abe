"""Fuzzing the values of the vault document: node.versions `decode` and `open_field`.

Threats: an author's signed update carries version values built to crash the
reader of every replica (lying field sizes, base lists past the cap, unknown
kinds or formats, keys that are not version keys), or values with two
spellings; a field blob altered or moved opens to anything. decode raises
only DecodeError, and what it accepts is the one encoding of the version read;
open_field raises only CryptoError, and opens only the genuine blob.
"""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from crdt import rules
from node import versions
from node.errors import CryptoError, DecodeError
from node.versions import Version
from tests.fuzz.hostile import FUZZ, damaged, hostile, outcome
from tests.fuzz.samples import ENTRY, KEY_ID, VAULT_KEY, version_values
from tests.node.membership_builders import OFFICE

GENUINE = version_values()
KEYS = [key for key, _ in GENUINE]
VALUES = [value for _, value in GENUINE]

version_keys = (
    st.sampled_from(KEYS)
    | st.builds(rules.version_key, st.integers(0, 2**60), st.integers(0, 2**36))
    | st.text(alphabet="0123456789abcdefABCDEF.x- ", max_size=24)
)


@st.composite
def laid_out(draw: st.DrawFn) -> bytes:
    """A value by the documented layout with each count and size drawn near its limit:
    header, nonce (adds), base list, then fields, any of which may lie."""
    kind = draw(st.integers(1, 5) | st.integers(0, 255))
    out = bytearray(struct.pack(">BB", draw(st.sampled_from([1, 1, 1, 0, 2])), kind))
    out += draw(st.binary(min_size=48, max_size=48))
    out += struct.pack(">q", draw(st.integers(-(2**63), 2**63 - 1)))
    if draw(st.booleans()) if kind == 1 else draw(st.integers(0, 9)) == 0:
        out += draw(st.binary(min_size=16, max_size=16))
    client = st.integers(0, 2**53 - 1) | st.integers(0, 2**64 - 1)
    bases = draw(st.lists(st.tuples(client, st.integers(0, 2**32 - 1)), max_size=3))
    out.append(draw(st.sampled_from([len(bases)] * 4 + [len(bases) + 1, versions.MAX_BASE + 1])))
    for client_id, clock in bases:
        out += struct.pack(">QI", client_id, clock)
    indices = sorted(draw(st.lists(st.integers(0, 6), unique=True, max_size=7)))
    if draw(st.integers(0, 4)) == 0:
        indices.append(draw(st.integers(0, 255)))  # out of order, repeated or unknown
    out.append(draw(st.sampled_from([len(indices)] * 4 + [len(indices) + 1, 0])))
    for index in indices:
        blob = draw(st.binary(max_size=40))
        size = draw(st.sampled_from([len(blob)] * 4 + [len(blob) + 1, versions.MAX_SEALED + 1]))
        out += struct.pack(">BI", index, size) + blob
    return bytes(out)


def _refused_or_canonical(key: str, data: bytes) -> Version | None:
    version = outcome(lambda: versions.decode(key, data), DecodeError)
    if version is not None:
        assert rules.parse_version_key(key)[1] == version.clock
        v = version
        again = versions.encode(
            v.kind, v.entry, v.author, v.key_id, v.at, v.nonce, v.base, v.fields
        )
        assert again == data
        assert len(version.base) <= versions.MAX_BASE
    return version


def test_the_samples_are_valid() -> None:
    """Control: every genuine value decodes to itself."""
    for key, value in GENUINE:
        assert _refused_or_canonical(key, value) is not None


@FUZZ
@given(st.sampled_from(KEYS) | version_keys, hostile(VALUES, max_size=300) | laid_out())
def test_a_hostile_value_is_refused_or_canonical(key: str, data: bytes) -> None:
    """Threat: a version value or key built to crash every replica that reads it, or with a
    second spelling (so two replicas could disagree on what one version says)."""
    _refused_or_canonical(key, data)


@FUZZ
@given(damaged([sealed for _, value in GENUINE[:1] for sealed in
                versions.decode(KEYS[0], value).fields.values()]))  # fmt: skip
def test_a_damaged_field_blob_never_opens(sealed: bytes) -> None:
    """Threat: a sealed field altered in transit (or by an author with the key, moved from
    another field) opens to another value instead of failing as CryptoError."""
    genuine = versions.decode(KEYS[0], VALUES[0]).fields
    plain = outcome(
        lambda: versions.open_field(VAULT_KEY, OFFICE, ENTRY, "title", KEY_ID, sealed),
        CryptoError,
    )
    if plain is not None:
        assert sealed == genuine["title"] and plain == "title value"
