"""node.recovery: the recovery kit (office root key sealed under a recovery code).

Threats covered: the kit is a file that may sit on a USB stick for years, so
a wrong code, a damaged or altered kit, or a file that is not a kit at all
must give a clear error and never the root key. The code is read aloud and
typed by hand, so reading it forgives case, spacing and look-alike letters.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node import crypto, keystore, recovery
from node.errors import StorageError, UserError, VaultError
from node.recovery import Kit

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_SHAPE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){7}$")
HEADER_SIZE = len(recovery.MAGIC) + crypto.ID_SIZE


@pytest.fixture
def kit() -> Kit:
    return Kit(
        office_id=crypto.random_bytes(crypto.ID_SIZE),
        office_name="Acme Ltd",
        root_seed=crypto.random_bytes(32),
        genesis=crypto.random_bytes(300),
    )


@pytest.fixture
def code() -> str:
    return recovery.new_code()


def flip(data: bytes, offset: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= 0x01
    return bytes(out)


# -- the code ---------------------------------------------------------------------


def test_new_code_is_eight_groups_of_four_crockford_characters() -> None:
    for _ in range(50):
        code = recovery.new_code()
        assert CODE_SHAPE.match(code), code
        assert len(code.replace("-", "")) == 32


def test_new_codes_differ() -> None:
    assert len({recovery.new_code() for _ in range(50)}) == 50


@given(st.binary(min_size=recovery.CODE_BYTES, max_size=recovery.CODE_BYTES))
def test_format_then_parse_is_the_identity(raw: bytes) -> None:
    code = recovery.format_code(raw)
    assert CODE_SHAPE.match(code)
    assert recovery.parse_code(code) == raw


def test_code_of_all_zero_and_all_one_bits() -> None:
    assert recovery.format_code(bytes(20)) == "-".join(["0000"] * 8)
    assert recovery.format_code(b"\xff" * 20) == "-".join(["ZZZZ"] * 8)


# A code that uses 0 and 1, so the look-alike readings can be tested.
TYPED = "01AB-CDEF-GH01-JKMN-PQRS-TVWX-YZ10-0110"


@pytest.mark.parametrize(
    "variant",
    [
        TYPED.lower(),
        TYPED.replace("-", " "),
        TYPED.replace("-", ""),
        TYPED.replace("-", "  -\t"),
        f"  {TYPED}\n",
        TYPED.replace("0", "O"),
        TYPED.replace("0", "o"),
        TYPED.replace("1", "I"),
        TYPED.replace("1", "i"),
        TYPED.replace("1", "L"),
        TYPED.replace("1", "l"),
        " ".join(TYPED.replace("-", "").lower().replace("0", "o").replace("1", "l")),
    ],
    ids=[
        "lower-case",
        "spaces",
        "no-separators",
        "mixed-separators",
        "surrounding-whitespace",
        "letter-O-for-zero",
        "letter-o-for-zero",
        "letter-I-for-one",
        "letter-i-for-one",
        "letter-L-for-one",
        "letter-l-for-one",
        "all-at-once",
    ],
)
def test_parse_forgives_how_people_type(variant: str) -> None:
    assert recovery.parse_code(variant) == recovery.parse_code(TYPED)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-------",
        TYPED[:-1],
        TYPED + "0",
        TYPED[:-4] + "UUUU",
        TYPED[:-1] + "!",
        TYPED[:-1] + "é",
        TYPED.replace("-", "_"),
        TYPED.replace("-", "."),
    ],
    ids=[
        "empty",
        "only-separators",
        "one-short",
        "one-long",
        "letter-U",
        "punctuation",
        "accented",
        "underscores",
        "dots",
    ],
)
def test_parse_refuses_what_is_not_a_code(text: str) -> None:
    with pytest.raises(UserError) as info:
        recovery.parse_code(text)
    assert "recovery code" in str(info.value)


# -- the kit ------------------------------------------------------------------------


def test_seal_then_open_round_trip(kit: Kit, code: str) -> None:
    data = recovery.seal(kit, code)
    assert recovery.open_kit(data, code) == kit


def test_open_accepts_the_code_as_typed(kit: Kit) -> None:
    data = recovery.seal(kit, TYPED)
    assert recovery.open_kit(data, TYPED.lower().replace("-", " ").replace("1", "l")) == kit


def test_kit_holds_no_secret_in_clear(kit: Kit, code: str) -> None:
    data = recovery.seal(kit, code)
    assert kit.root_seed not in data
    assert kit.genesis[:32] not in data
    assert b"Acme" not in data
    assert code.encode() not in data
    assert recovery.parse_code(code) not in data


def test_kit_repr_hides_the_root_seed(kit: Kit) -> None:
    assert kit.root_seed.hex() not in repr(kit)
    assert repr(kit.root_seed) not in repr(kit)


def test_each_seal_is_different(kit: Kit, code: str) -> None:
    assert recovery.seal(kit, code) != recovery.seal(kit, code)


def test_wrong_code_is_a_user_error(kit: Kit, code: str) -> None:
    data = recovery.seal(kit, code)
    with pytest.raises(UserError):
        recovery.open_kit(data, recovery.new_code())


def test_code_one_character_off_is_a_user_error(kit: Kit) -> None:
    data = recovery.seal(kit, TYPED)
    near = TYPED[:-1] + ("1" if TYPED[-1] != "1" else "2")
    with pytest.raises(UserError):
        recovery.open_kit(data, near)


def test_malformed_code_is_a_user_error(kit: Kit, code: str) -> None:
    with pytest.raises(UserError):
        recovery.open_kit(recovery.seal(kit, code), "not a code")


def kit_offsets(size: int) -> dict[str, int]:
    return {
        "magic-first": 0,
        "version": len(recovery.MAGIC) - 1,
        "office-id": len(recovery.MAGIC) + 3,
        "nonce": HEADER_SIZE,
        "ciphertext": HEADER_SIZE + crypto.NONCE_SIZE + 5,
        "tag-last": size - 1,
    }


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("magic-first", StorageError),
        ("version", StorageError),
        ("office-id", UserError),
        ("nonce", UserError),
        ("ciphertext", UserError),
        ("tag-last", UserError),
    ],
)
def test_flipped_byte_in_kit_is_refused(
    kit: Kit, code: str, where: str, expected: type[VaultError]
) -> None:
    """The whole file is authenticated: header as AEAD data, the rest by the tag."""
    data = recovery.seal(kit, code)
    with pytest.raises(expected):
        recovery.open_kit(flip(data, kit_offsets(len(data))[where]), code)


def test_every_single_byte_flip_is_refused(kit: Kit, code: str) -> None:
    data = recovery.seal(kit, code)
    for offset in range(len(data)):
        with pytest.raises((UserError, StorageError)):
            recovery.open_kit(flip(data, offset), code)


def test_kit_moved_to_another_office_id_is_refused(kit: Kit, code: str) -> None:
    """Cut-and-paste: the office id in the header is bound to the sealed root key."""
    data = recovery.seal(kit, code)
    moved = recovery.MAGIC + crypto.random_bytes(crypto.ID_SIZE) + data[HEADER_SIZE:]
    with pytest.raises(UserError):
        recovery.open_kit(moved, code)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"OVKIT",
        recovery.MAGIC,
        b"hello, this is a text file and not a recovery kit at all, honestly" * 2,
        b"\x00" * 200,
        b"OVKIT\x02" + b"\x00" * 200,
        b"OVKS\x01\x01" + b"\x00" * 200,
        recovery.MAGIC + b"\x00" * (crypto.ID_SIZE + 39),
        recovery.MAGIC + b"\x00" * (recovery.MAX_KIT_SIZE),
    ],
    ids=[
        "empty",
        "magic-prefix-only",
        "magic-only",
        "text-file",
        "zeros",
        "future-version",
        "a-keystore",
        "one-byte-too-short",
        "oversized",
    ],
)
def test_not_a_kit_is_a_storage_error(data: bytes, code: str) -> None:
    with pytest.raises(StorageError):
        recovery.open_kit(data, code)


def test_real_keystore_file_is_not_a_kit(code: str, password: bytearray) -> None:
    data = keystore.seal(keystore.Secrets.generate(), password, keystore.INSECURE_TEST)
    with pytest.raises(StorageError):
        recovery.open_kit(data, code)


def test_truncated_kit_is_refused(kit: Kit, code: str) -> None:
    data = recovery.seal(kit, code)
    for size in (0, 10, HEADER_SIZE, HEADER_SIZE + 39, HEADER_SIZE + 40, len(data) - 1):
        with pytest.raises((StorageError, UserError)):
            recovery.open_kit(data[:size], code)
