"""node.backup: a file of entries sealed under a password the user chooses.

Threats covered: a backup travels (USB sticks, mail, cloud folders), so it is
hostile input when it comes back. A wrong password or any altered byte is a
clean `UserError` (never a crash, never a partial result); a header rewritten
to ask for a cheap Argon2id (to make guessing the password cheap) or an absurd
one (to hang or exhaust the machine) is refused before the password is hashed;
a backup made with the test-only KDF is refused under the real floor; derived
keys are wiped; errors about entries name their position, never a value; a
backup we write can always be opened again.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node import backup, codec, crypto, keystore
from node.backup import open_backup, seal_backup
from node.entry_fields import DEFAULT_CATEGORY, FIELDS
from node.errors import CryptoError, DecodeError, UserError, WrongPasswordError
from node.keystore import INSECURE_TEST, MODERATE, KdfProfile

# The documented layout: b"OVBK" | version u8 | kdf u8 | opslimit u32 | memlimit u64 | salt (16)
HEADER = struct.Struct(">4sBBIQ16s")
MIB = 1024 * 1024
PASSWORD = "tabletop lantern orbit"
META = {"office": "Acme Ltd", "made_by": "alice"}
SECRET = "Tr0ub4dor&3-backup"


def pw(text: str = PASSWORD) -> bytearray:
    return bytearray(text.encode())


def full(title: str, **fields: str) -> dict[str, str]:
    out = dict.fromkeys(FIELDS, "")
    out["category"] = DEFAULT_CATEGORY
    out.update(fields, title=title)
    return out


ENTRIES = [
    full("Mail", username="alice", password=SECRET, url="https://m.example", category="Work"),
    full("Alarm", notes="4815-9162\nfront door"),
]


@pytest.fixture(scope="module")
def sealed() -> bytes:
    return seal_backup(ENTRIES, pw(), INSECURE_TEST, META)


class Argon2Calls:
    """Records every Argon2id run and keeps its output; runs only cheap ones for real."""

    def __init__(self, real: Callable[..., bytearray]) -> None:
        self.real = real
        self.calls: list[tuple[int, int]] = []
        self.keys: list[bytearray] = []

    def __call__(self, password: Any, salt: bytes, opslimit: int, memlimit: int) -> bytearray:
        self.calls.append((opslimit, memlimit))
        if memlimit > MIB or opslimit > 4:
            key = bytearray(crypto.KEY_SIZE)  # a wrong key: decryption must then fail
        else:
            key = self.real(password, salt, opslimit, memlimit)
        self.keys.append(key)
        return key


@pytest.fixture
def argon2_calls(monkeypatch: pytest.MonkeyPatch) -> Argon2Calls:
    recorder = Argon2Calls(crypto.argon2id)
    monkeypatch.setattr(crypto, "argon2id", recorder)
    return recorder


def with_header(data: bytes, **changes: Any) -> bytes:
    fields = dict(
        zip(
            ("magic", "version", "kdf", "ops", "mem", "salt"), HEADER.unpack_from(data), strict=True
        )
    )
    fields.update(changes)
    return HEADER.pack(*fields.values()) + data[HEADER.size :]


# -- round trip -----------------------------------------------------------------------


def test_round_trip(sealed: bytes) -> None:
    assert open_backup(sealed, pw(), INSECURE_TEST) == (META, ENTRIES)


def test_round_trip_completes_partial_entries_and_keeps_field_order() -> None:
    data = seal_backup([{"title": "  T  ", "password": " p "}], pw(), INSECURE_TEST, {})
    meta, entries = open_backup(data, pw(), INSECURE_TEST)
    assert meta == {}
    assert entries == [full("T", password=" p ")]
    assert list(entries[0]) == list(FIELDS)


def test_empty_backup_round_trips() -> None:
    assert open_backup(seal_backup([], pw(), INSECURE_TEST, {}), pw(), INSECURE_TEST) == ({}, [])


def test_header_carries_the_profile_cost_and_a_fresh_salt(sealed: bytes) -> None:
    again = seal_backup(ENTRIES, pw(), INSECURE_TEST, META)
    magic, version, kdf, ops, mem, salt = HEADER.unpack_from(sealed)
    assert (magic, version, kdf) == (b"OVBK", 1, 1)
    assert (ops, mem) == (INSECURE_TEST.opslimit, INSECURE_TEST.memlimit)
    assert salt != HEADER.unpack_from(again)[5]
    assert SECRET.encode() not in sealed


def test_derived_keys_are_wiped(argon2_calls: Argon2Calls) -> None:
    data = seal_backup(ENTRIES, pw(), INSECURE_TEST, META)
    open_backup(data, pw(), INSECURE_TEST)
    with pytest.raises(WrongPasswordError):
        open_backup(data, pw("wrong"), INSECURE_TEST)
    assert len(argon2_calls.keys) == 3
    assert all(key == bytearray(crypto.KEY_SIZE) for key in argon2_calls.keys)


# -- wrong password, damage, hostile headers ------------------------------------------


def test_wrong_password(sealed: bytes) -> None:
    with pytest.raises(WrongPasswordError) as caught:
        open_backup(sealed, pw("tabletop lantern orbiT"), INSECURE_TEST)
    assert str(caught.value) == "wrong password for this backup, or the file was altered"


def test_every_single_byte_flip_is_a_user_error(argon2_calls: Argon2Calls) -> None:
    """An altered byte anywhere (header, salt, nonce, ciphertext, tag) never opens or crashes."""
    data = seal_backup(ENTRIES[:1], pw(), INSECURE_TEST, {})
    for i in range(len(data)):
        flipped = bytearray(data)
        flipped[i] ^= 0x01
        with pytest.raises(UserError):
            open_backup(bytes(flipped), pw(), INSECURE_TEST)
    assert all(ops <= keystore.MAX_OPS for ops, _ in argon2_calls.calls)


def test_every_truncation_is_a_user_error(sealed: bytes) -> None:
    for length in range(len(sealed)):
        with pytest.raises(UserError):
            open_backup(sealed[:length], pw(), INSECURE_TEST)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "not an OfficeVault backup file"),
        (b"OVKS" + bytes(100), "not an OfficeVault backup file"),
        (b"PK\x03\x04" + bytes(100), "not an OfficeVault backup file"),
        (b"OVBK", "damaged (it is truncated)"),
        (b"OVBK\x01\x01" + bytes(30), "damaged (it is truncated)"),
    ],
)
def test_not_a_backup(data: bytes, fragment: str) -> None:
    with pytest.raises(UserError) as caught:
        open_backup(data, pw(), INSECURE_TEST)
    assert fragment in str(caught.value)


NEVER_HASHED = [
    ("passes below the floor", {"ops": 0}, INSECURE_TEST, "weaker than allowed"),
    ("memory below the floor", {"mem": 4096}, INSECURE_TEST, "weaker than allowed"),
    ("test-only cost under the real floor", {}, MODERATE, "weaker than allowed"),
    ("too many passes", {"ops": 33}, INSECURE_TEST, "unreasonable"),
    ("too much memory", {"mem": 2 * 1024 * MIB}, INSECURE_TEST, "unreasonable"),
    ("all the memory", {"mem": 2**64 - 1}, INSECURE_TEST, "unreasonable"),
    ("a format version from the future", {"version": 2}, INSECURE_TEST, "version"),
    ("an unknown KDF", {"kdf": 2}, INSECURE_TEST, "damaged"),
]


@pytest.mark.parametrize(
    ("changes", "profile", "fragment"),
    [c[1:] for c in NEVER_HASHED],
    ids=[c[0] for c in NEVER_HASHED],
)
def test_bad_header_is_refused_before_hashing(
    monkeypatch: pytest.MonkeyPatch,
    sealed: bytes,
    changes: dict[str, int],
    profile: KdfProfile,
    fragment: str,
) -> None:
    """A rewritten KDF cost must never get to see the password, nor to run at all."""

    def must_not_run(*args: object) -> bytearray:
        raise AssertionError("Argon2id ran on a header that should have been refused")

    monkeypatch.setattr(crypto, "argon2id", must_not_run)
    with pytest.raises(UserError, match=fragment):
        open_backup(with_header(sealed, **changes), pw(), profile)


def test_header_is_authenticated(sealed: bytes) -> None:
    """A cost raised within bounds (so it is hashed) still fails: the header is AAD."""
    raised = with_header(sealed, ops=INSECURE_TEST.opslimit + 1)
    with pytest.raises(WrongPasswordError):
        open_backup(raised, pw(), INSECURE_TEST)


def test_file_above_the_cap_is_refused(monkeypatch: pytest.MonkeyPatch, sealed: bytes) -> None:
    monkeypatch.setattr(backup, "MAX_FILE_SIZE", len(sealed) - 1)
    with pytest.raises(UserError, match="too large"):
        open_backup(sealed, pw(), INSECURE_TEST)


def test_argon2_failure_is_a_user_error(monkeypatch: pytest.MonkeyPatch, sealed: bytes) -> None:
    def fails(*args: object) -> bytearray:
        raise CryptoError("the password hash could not be computed")

    monkeypatch.setattr(crypto, "argon2id", fails)
    with pytest.raises(UserError, match="cannot be computed on this machine"):
        open_backup(sealed, pw(), INSECURE_TEST)
    with pytest.raises(UserError, match="cannot be computed on this machine"):
        seal_backup(ENTRIES, pw(), INSECURE_TEST, META)


# -- what is inside: checked even when the password is right --------------------------


def entries_as_blobs(payload: bytes) -> bytes:
    """The payload with each map in "entries" encoded on its own, as backups store them."""
    try:
        value = codec.decode(payload)
    except DecodeError:
        return payload
    if isinstance(value, dict) and isinstance(value.get("entries"), list):
        listed = value["entries"]
        assert isinstance(listed, list)
        blobs = [codec.encode(e) if isinstance(e, dict) else e for e in listed]
        return codec.encode({**value, "entries": blobs})
    return payload


def forge(payload: bytes) -> bytes:
    """A backup of arbitrary payload bytes, properly sealed under PASSWORD."""
    payload = entries_as_blobs(payload)
    salt = bytes(16)
    ops, mem = INSECURE_TEST.opslimit, INSECURE_TEST.memlimit
    header = HEADER.pack(b"OVBK", 1, 1, ops, mem, salt)
    key = crypto.argon2id(pw(), salt, ops, mem)
    return header + crypto.aead_encrypt(key, payload, header)


LONG = "L0ng-" * 1000
INSIDE: list[tuple[str, bytes, str]] = [
    ("not the codec", b"\xff garbage", "damaged (its contents cannot be read)"),
    ("trailing bytes", codec.encode({"meta": {}, "entries": []}) + b"\x00", "cannot be read"),
    ("a list, not a map", codec.encode([1, 2]), "cannot be read"),
    ("an extra top-level field", codec.encode({"meta": {}, "entries": [], "x": 1}), "cannot be"),
    ("entries not a list", codec.encode({"meta": {}, "entries": {"a": "b"}}), "cannot be read"),
    ("meta not a map", codec.encode({"meta": [SECRET], "entries": []}), "description is malformed"),
    ("meta value not text", codec.encode({"meta": {"a": 1}, "entries": []}), "description"),
    ("entry not a map", codec.encode({"meta": {}, "entries": [SECRET]}), "entry 1 in the backup"),
    ("entry with an unknown field",
     codec.encode({"meta": {}, "entries": [{"title": "A"}, {"title": "B", SECRET: "x"}]}),
     "entry 2 in the backup is invalid (it is not a set of entry fields)"),
    ("field not text", codec.encode({"meta": {}, "entries": [{"title": "A", "password": 7}]}),
     "entry 1 in the backup is invalid (a field is not text)"),
    ("no title", codec.encode({"meta": {}, "entries": [{"title": " ", "password": SECRET}]}),
     "entry 1 in the backup is invalid: an entry needs a title"),
    ("password too long", codec.encode({"meta": {}, "entries": [{"title": "A", "password": LONG}]}),
     "entry 1 in the backup is invalid: field password is longer than 4096 characters"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("payload", "fragment"), [c[1:] for c in INSIDE], ids=[c[0] for c in INSIDE]
)
def test_contents_are_checked_after_decryption(payload: bytes, fragment: str) -> None:
    with pytest.raises(UserError) as caught:
        open_backup(forge(payload), pw(), INSECURE_TEST)
    assert not isinstance(caught.value, WrongPasswordError)
    assert fragment in str(caught.value)
    assert SECRET not in str(caught.value)
    assert LONG not in str(caught.value)


def test_forge_makes_an_openable_backup() -> None:
    """The forged-payload tests above fail for what is inside, not for how it was sealed."""
    payload = codec.encode({"meta": {"a": "b"}, "entries": [{"title": "A"}]})
    assert open_backup(forge(payload), pw(), INSECURE_TEST) == ({"a": "b"}, [full("A")])


# -- what goes in ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "password", "fragment"),
    [
        ([full("A"), full("")], PASSWORD, "entry 2 cannot be backed up: an entry needs a title"),
        ([{"title": "A", "id": "e1"}], PASSWORD, "entry 1 cannot be backed up: unknown field 'id'"),
        ([full("A", notes="\ud800")], PASSWORD, "cannot be written to a backup"),
        ([full("A")], "", "a backup needs a password"),
    ],
)
def test_seal_refuses_what_could_not_be_opened_again(
    entries: list[dict[str, str]], password: str, fragment: str
) -> None:
    with pytest.raises(UserError) as caught:
        seal_backup(entries, pw(password), INSECURE_TEST, META)
    assert fragment in str(caught.value)


def test_seal_caps_the_number_of_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backup, "MAX_ENTRIES", 2)
    with pytest.raises(UserError, match="at most 2 entries"):
        seal_backup([full("A")] * 3, pw(), INSECURE_TEST, {})


def test_entry_cap_stays_inside_what_the_codec_decodes() -> None:
    """Every backup we agree to write must decode: 7 codec items per entry, plus meta."""
    assert 2 + backup.MAX_META_ITEMS + backup.MAX_ENTRIES <= codec.MAX_ITEMS


@pytest.mark.parametrize(
    "meta",
    [{"k": 1}, {"k": "v" * (backup.MAX_META_LENGTH + 1)}, {str(i): "" for i in range(65)}],
)
def test_seal_refuses_malformed_meta_as_misuse(meta: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="meta"):
        seal_backup([], pw(), INSECURE_TEST, meta)


# -- fuzzing --------------------------------------------------------------------------


def _header_then(rest: bytes, ops: int, mem: int) -> bytes:
    return HEADER.pack(b"OVBK", 1, 1, ops, mem, bytes(16)) + rest


garbage = (
    st.binary(max_size=200)
    | st.binary(max_size=120).map(lambda b: b"OVBK" + b)
    | st.builds(
        _header_then,
        st.binary(max_size=120),
        st.integers(0, 40),
        st.integers(0, 2**64 - 1) | st.integers(0, 2 * MIB),
    )
)


@given(garbage)
@settings(max_examples=300, deadline=None)
def test_any_bytes_open_to_a_user_error(data: bytes) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(crypto, "argon2id", Argon2Calls(crypto.argon2id))
        with pytest.raises(UserError):
            open_backup(data, pw(), INSECURE_TEST)
