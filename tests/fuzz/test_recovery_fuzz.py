"""Fuzzing the recovery kit: node.recovery `open_kit` and `parse_code`.

The kit is a file (a USB stick kept elsewhere) and the code is typed by a
person rebuilding admin access. Threats: a damaged or substituted kit crashes
the recovery or opens to another root key; a payload of the wrong shape
(sealed by someone with the code) yields a short seed; a mistyped code
crashes the parser. open_kit raises only StorageError or UserError, and opens
only the genuine kit; parse_code raises only UserError.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from node import codec, crypto, recovery
from node.codec import Value
from node.errors import StorageError, UserError
from node.recovery import Kit
from tests.fuzz.hostile import FUZZ, hostile, outcome, reshaped
from tests.node.membership_builders import OFFICE, genesis

CODE = recovery.format_code(bytes(range(recovery.CODE_BYTES)))
KIT = Kit(OFFICE, "Acme Ltd", b"\x01" * 32, genesis())
GENUINE = (recovery.seal(KIT, CODE),)
PAYLOAD: dict[str, Value] = {
    "office_name": KIT.office_name,
    "root_seed": KIT.root_seed,
    "genesis": KIT.genesis,
}


def _sealed_payload(payload: bytes) -> bytes:
    header = recovery.MAGIC + OFFICE
    key = crypto.subkey(recovery.parse_code(CODE), recovery._CONTEXT)
    return header + crypto.aead_encrypt(key, payload, header)


def _open(data: bytes) -> Kit | None:
    kit = outcome(lambda: recovery.open_kit(data, CODE), StorageError, UserError)
    if kit is not None:
        assert len(kit.root_seed) == 32 and kit.office_id == data[6:22]
    return kit


def test_the_samples_are_valid() -> None:
    assert _open(GENUINE[0]) == KIT
    assert _open(_sealed_payload(codec.encode(PAYLOAD))) == KIT


@FUZZ
@given(hostile(GENUINE, max_size=200))
def test_a_damaged_kit_is_refused_or_is_the_genuine_one(data: bytes) -> None:
    """Threat: a damaged or substituted kit crashes the recovery or opens to a root key (and
    office) other than the one sealed."""
    if _open(data) is not None:
        assert data in GENUINE


@FUZZ
@given(reshaped([PAYLOAD]))
def test_a_malformed_kit_payload_is_refused_or_read_exactly(payload: bytes) -> None:
    """Threat: a kit sealed under the right code but holding a payload of the wrong shape."""
    kit = _open(_sealed_payload(payload))
    if kit is not None:
        assert codec.encode({"office_name": kit.office_name, "root_seed": kit.root_seed,
                             "genesis": kit.genesis}) == payload  # fmt: skip


@st.composite
def near_codes(draw: st.DrawFn) -> str:
    """31-33 characters of the alphabet or its look-alikes, either case, in groups split by
    any separators: what a person copies from the printout, mistakes included."""
    chars = draw(st.lists(st.sampled_from("0123456789ABCDEFGHJKMNPQRSTVWXYZILOUabz\u0131\u00df"),
                          min_size=31, max_size=33))  # fmt: skip
    separators = st.sampled_from(["-", " ", "", "\t", " - ", "é"])
    return "".join(c + (draw(separators) if i % 4 == 3 else "") for i, c in enumerate(chars))


@FUZZ
@given(near_codes() | st.text(max_size=48))
def test_a_mistyped_code_is_refused_or_read(text: str) -> None:
    """Threat: whatever a person types as the code crashes the parser instead of being one
    clear error (the code is never echoed back: it is the key to the root)."""
    raw = outcome(lambda: recovery.parse_code(text), UserError)
    if raw is not None:
        assert len(raw) == recovery.CODE_BYTES
        assert recovery.parse_code(recovery.format_code(raw)) == raw
