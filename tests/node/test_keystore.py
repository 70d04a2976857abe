"""node.keystore: the device keystore sealed under the user's password.

Threats covered (SECURITY_TESTS.md items 1-2): a wrong password gets a clear
error, writes nothing and takes the full KDF (no fast-fail shortcut); a
keystore whose header was rewritten to ask for a cheap Argon2id never gets to
see the password; any damage to the file is a clear `StorageError`, told
apart from a wrong password by the checksum trailer; a header asking for
more than 32 passes or 1 GiB is refused before any hashing, and an Argon2
failure is a one-line `StorageError`; a test-only fast KDF is used only when
asked for exactly, by its documented variable name. (How the file itself is
written durably is in test_files.py.)

Only `test_moderate_profile_round_trip` runs the real MODERATE cost (two
Argon2id runs, ~1 s and 256 MiB each); everything else uses the fast profile
or never reaches the KDF.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.pwhash
import pytest

from node import crypto, files, keystore
from node.errors import StorageError, VaultError, WrongPasswordError
from node.keystore import INSECURE_TEST, MODERATE, KdfProfile, Secrets

# The documented layout: b"OVKS" | version u8 | kdf u8 | opslimit u32 | memlimit u64 | salt (16)
HEADER = struct.Struct(">4sBBIQ16s")
TRAILER = 32
MIB = 1024 * 1024


class Argon2Calls:
    """Records every Argon2id run; delegates only cheap ones so a bug cannot eat the RAM."""

    def __init__(self, real: Callable[..., bytearray]) -> None:
        self.real = real
        self.calls: list[tuple[int, int]] = []

    def __call__(self, password: Any, salt: bytes, opslimit: int, memlimit: int) -> bytearray:
        self.calls.append((opslimit, memlimit))
        if memlimit > MIB or opslimit > 8:
            return bytearray(crypto.KEY_SIZE)  # a wrong key: decryption must then fail
        return self.real(password, salt, opslimit, memlimit)


@pytest.fixture
def argon2_calls(monkeypatch: pytest.MonkeyPatch) -> Argon2Calls:
    recorder = Argon2Calls(crypto.argon2id)
    monkeypatch.setattr(crypto, "argon2id", recorder)
    return recorder


@pytest.fixture
def secrets() -> Secrets:
    return Secrets.generate(root_seed=crypto.random_bytes(32))


@pytest.fixture
def sealed(secrets: Secrets, password: bytearray, fast_kdf: KdfProfile) -> bytes:
    return keystore.seal(secrets, password, fast_kdf)


def with_trailer(body: bytes) -> bytes:
    """Append a correct checksum, as an attacker rewriting the file would."""
    return body + hashlib.sha256(body).digest()


def rewrite_header(data: bytes, **changes: Any) -> bytes:
    """Change header fields of a sealed keystore and fix the checksum up."""
    body = data[:-TRAILER]
    fields = dict(
        zip(
            ("magic", "version", "kdf", "opslimit", "memlimit", "salt"),
            HEADER.unpack(body[: HEADER.size]),
            strict=True,
        )
    )
    fields.update(changes)
    header = HEADER.pack(*fields.values())
    return with_trailer(header + body[HEADER.size :])


def forged(opslimit: int, memlimit: int) -> bytes:
    """A keystore file whose header asks for the given cost; its ciphertext is random."""
    header = HEADER.pack(b"OVKS", 1, 1, opslimit, memlimit, crypto.random_bytes(crypto.SALT_SIZE))
    return with_trailer(header + crypto.random_bytes(crypto.NONCE_SIZE + 120))


def flip(data: bytes, offset: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= 0x01
    return bytes(out)


def assert_one_line(exc: BaseException) -> None:
    message = str(exc)
    assert message
    assert "\n" not in message


def test_header_layout_matches_the_module() -> None:
    assert HEADER.size == keystore.HEADER_SIZE


# -- round trip -------------------------------------------------------------------


@pytest.mark.parametrize("root_seed", [None, b"\x07" * 32], ids=["member-device", "root-device"])
def test_round_trip(password: bytearray, fast_kdf: KdfProfile, root_seed: bytes | None) -> None:
    secrets = Secrets.generate(root_seed=root_seed)
    opened = keystore.open_sealed(keystore.seal(secrets, password, fast_kdf), password, fast_kdf)
    assert opened == secrets


def test_round_trip_through_a_file(
    tmp_path: Path, secrets: Secrets, sealed: bytes, password: bytearray, fast_kdf: KdfProfile
) -> None:
    path = tmp_path / "keystore"
    files.write_new(path, sealed)
    assert path.read_bytes() == sealed
    assert keystore.read(path, password, fast_kdf) == secrets
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keystore"], "temp file left behind"


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_keystore_file_is_private_to_its_owner(tmp_path: Path, sealed: bytes) -> None:
    path = tmp_path / "keystore"
    files.write_new(path, sealed)
    assert path.stat().st_mode & 0o077 == 0


def test_seal_uses_a_fresh_salt_and_nonce(
    secrets: Secrets, password: bytearray, fast_kdf: KdfProfile
) -> None:
    a = keystore.seal(secrets, password, fast_kdf)
    b = keystore.seal(secrets, password, fast_kdf)
    assert HEADER.unpack(a[: HEADER.size])[5] != HEADER.unpack(b[: HEADER.size])[5]
    assert a != b


def test_secrets_repr_shows_no_key_material(secrets: Secrets) -> None:
    text = repr(secrets)
    for secret in (secrets.sign_seed, secrets.box_secret, secrets.db_key):
        assert secret.hex() not in text
        assert repr(secret) not in text


def test_moderate_profile_round_trip(secrets: Secrets, password: bytearray) -> None:
    """The real production cost: a MODERATE keystore opens under the MODERATE floor."""
    data = keystore.seal(secrets, password, MODERATE)
    _, _, _, opslimit, memlimit, _ = HEADER.unpack(data[: HEADER.size])
    assert (opslimit, memlimit) == (MODERATE.opslimit, MODERATE.memlimit)
    assert keystore.open_sealed(data, password, MODERATE) == secrets


# -- wrong password (item 1) ------------------------------------------------------------


def test_wrong_password_is_clear_and_writes_nothing(
    tmp_path: Path, sealed: bytes, fast_kdf: KdfProfile, argon2_calls: Argon2Calls
) -> None:
    path = tmp_path / "keystore"
    files.write_new(path, sealed)
    before = path.read_bytes()
    with pytest.raises(WrongPasswordError) as info:
        keystore.read(path, bytearray(b"not the password"), fast_kdf)
    assert_one_line(info.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keystore"]
    # No fast-fail shortcut: the wrong password went through the full KDF, once,
    # at the cost the header asks for.
    assert argon2_calls.calls == [(fast_kdf.opslimit, fast_kdf.memlimit)]


@pytest.mark.parametrize(
    "wrong",
    [b"", b"correct horse battery stapl", b"correct horse battery staple ", b"CORRECT HORSE"],
    ids=["empty", "one-char-short", "one-char-extra", "other-case"],
)
def test_near_miss_passwords_are_wrong(sealed: bytes, fast_kdf: KdfProfile, wrong: bytes) -> None:
    with pytest.raises(WrongPasswordError):
        keystore.open_sealed(sealed, bytearray(wrong), fast_kdf)


# -- KDF floor (item 2) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opslimit", "memlimit"),
    [
        (MODERATE.floor_ops - 1, MODERATE.memlimit),
        (MODERATE.opslimit, MODERATE.floor_mem - 1),
        (MODERATE.floor_ops, 64 * MIB - 1024),
        (INSECURE_TEST.opslimit, INSECURE_TEST.memlimit),
        (0, 0),
    ],
    ids=[
        "ops-below-floor",
        "mem-one-byte-below-floor",
        "mem-1KiB-below-64MiB",
        "test-profile",
        "zero",
    ],
)
def test_lowered_kdf_cost_is_refused_before_the_password_is_used(
    opslimit: int, memlimit: int, password: bytearray, argon2_calls: Argon2Calls
) -> None:
    """A swapped-in keystore asking for a cheap hash must never see the password."""
    with pytest.raises(StorageError) as info:
        keystore.open_sealed(forged(opslimit, memlimit), password, MODERATE)
    assert_one_line(info.value)
    assert argon2_calls.calls == []


def test_fast_profile_keystore_is_refused_under_moderate(
    sealed: bytes, password: bytearray, argon2_calls: Argon2Calls
) -> None:
    """The realistic attack: a genuine keystore made with the test profile, dropped in."""
    with pytest.raises(StorageError):
        keystore.open_sealed(sealed, password, MODERATE)
    assert argon2_calls.calls == []


def test_cost_exactly_at_the_floor_reaches_the_kdf(
    password: bytearray, argon2_calls: Argon2Calls
) -> None:
    """The floor is inclusive: t=3, m=64 MiB is allowed and hashed at exactly that cost."""
    with pytest.raises(WrongPasswordError):
        keystore.open_sealed(forged(MODERATE.floor_ops, MODERATE.floor_mem), password, MODERATE)
    assert argon2_calls.calls == [(MODERATE.floor_ops, MODERATE.floor_mem)]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"opslimit": INSECURE_TEST.opslimit + 1}, WrongPasswordError),
        ({"memlimit": INSECURE_TEST.memlimit * 2}, WrongPasswordError),
        ({"salt": b"\x00" * 16}, WrongPasswordError),
        ({"opslimit": 65}, StorageError),
        ({"opslimit": keystore.MAX_OPS + 1}, StorageError),
        ({"memlimit": keystore.MAX_MEM + 1}, StorageError),
        ({"memlimit": 2 * keystore.MAX_MEM}, StorageError),
        ({"opslimit": 2**32 - 1}, StorageError),
        ({"memlimit": 4 * 1024**3 + 1}, StorageError),
        ({"memlimit": 2**64 - 1}, StorageError),
        ({"opslimit": 0}, StorageError),
        ({"memlimit": INSECURE_TEST.memlimit - 1}, StorageError),
        ({"magic": b"OVKZ"}, StorageError),
        ({"version": 2}, StorageError),
        ({"version": 0}, StorageError),
        ({"kdf": 2}, StorageError),
    ],
    ids=[
        "ops-raised",
        "mem-raised",
        "salt-replaced",
        "ops-unreasonable",
        "ops-one-over-ceiling",
        "mem-one-byte-over-1GiB",
        "mem-2GiB",
        "ops-max-u32",
        "mem-over-4GiB",
        "mem-max-u64",
        "ops-zero",
        "mem-below-test-floor",
        "magic",
        "future-version",
        "version-zero",
        "other-kdf",
    ],
)
def test_altered_header_with_fixed_checksum_never_opens(
    sealed: bytes,
    password: bytearray,
    fast_kdf: KdfProfile,
    argon2_calls: Argon2Calls,
    changes: dict[str, Any],
    expected: type[VaultError],
) -> None:
    """The header is AEAD associated data: changing any field breaks decryption or is refused."""
    with pytest.raises(expected) as info:
        keystore.open_sealed(rewrite_header(sealed, **changes), password, fast_kdf)
    assert_one_line(info.value)
    if expected is StorageError:
        assert argon2_calls.calls == []


def test_cost_ceilings_are_32_passes_and_1_GiB() -> None:
    assert keystore.MAX_OPS == 32
    assert keystore.MAX_MEM == 1024 * MIB
    assert MODERATE.opslimit <= keystore.MAX_OPS
    assert MODERATE.memlimit <= keystore.MAX_MEM


def test_cost_exactly_at_the_ceilings_reaches_the_kdf(
    password: bytearray, fast_kdf: KdfProfile, argon2_calls: Argon2Calls
) -> None:
    """The ceilings are inclusive (the recorder does not run such a costly hash)."""
    with pytest.raises(WrongPasswordError):
        keystore.open_sealed(forged(keystore.MAX_OPS, keystore.MAX_MEM), password, fast_kdf)
    assert argon2_calls.calls == [(keystore.MAX_OPS, keystore.MAX_MEM)]


@pytest.mark.parametrize(
    "failure",
    [nacl.exceptions.RuntimeError("oom"), MemoryError(), ValueError("bad cost")],
    ids=["libsodium-error", "memory-error", "value-error"],
)
def test_argon2_failure_opening_is_a_storage_error(
    sealed: bytes,
    password: bytearray,
    fast_kdf: KdfProfile,
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
) -> None:
    """E.g. a cost within the ceilings that this PC has no memory for: one clear line."""

    def fail(*args: object, **kwargs: object) -> bytes:
        raise failure

    monkeypatch.setattr(nacl.pwhash.argon2id, "kdf", fail)
    with pytest.raises(StorageError) as info:
        keystore.open_sealed(sealed, password, fast_kdf)
    assert_one_line(info.value)


def test_argon2_failure_sealing_is_a_clear_error(
    secrets: Secrets, password: bytearray, fast_kdf: KdfProfile, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> bytes:
        raise MemoryError

    monkeypatch.setattr(nacl.pwhash.argon2id, "kdf", fail)
    with pytest.raises(VaultError) as info:
        keystore.seal(secrets, password, fast_kdf)
    assert_one_line(info.value)


# -- damaged files ----------------------------------------------------------------------


def damage_cases(sealed: bytes) -> dict[str, bytes]:
    size = len(sealed)
    cases = {
        "empty": b"",
        "one-byte": b"O",
        "header-only": sealed[: HEADER.size],
        "trailer-cut-off": sealed[:-TRAILER],
        "last-byte-cut": sealed[:-1],
        "half": sealed[: size // 2],
        "byte-appended": sealed + b"\x00",
        "garbage": b"\x5a" * size,
        "random": crypto.random_bytes(size),
        "oversized": sealed + b"\x00" * keystore.MAX_FILE_SIZE,
    }
    offsets = {
        "magic": 0,
        "version": 4,
        "kdf": 5,
        "opslimit": 6,
        "memlimit": 10,
        "salt": 18,
        "nonce": HEADER.size,
        "ciphertext": HEADER.size + crypto.NONCE_SIZE + 3,
        "tag": size - TRAILER - 1,
        "trailer-first": size - TRAILER,
        "trailer-last": size - 1,
    }
    for name, offset in offsets.items():
        cases[f"flip-{name}"] = flip(sealed, offset)
    return cases


DAMAGE = [
    "empty",
    "one-byte",
    "header-only",
    "trailer-cut-off",
    "last-byte-cut",
    "half",
    "byte-appended",
    "garbage",
    "random",
    "oversized",
    "flip-magic",
    "flip-version",
    "flip-kdf",
    "flip-opslimit",
    "flip-memlimit",
    "flip-salt",
    "flip-nonce",
    "flip-ciphertext",
    "flip-tag",
    "flip-trailer-first",
    "flip-trailer-last",
]


@pytest.mark.parametrize("case", DAMAGE)
def test_damaged_keystore_is_a_storage_error(
    case: str, sealed: bytes, password: bytearray, fast_kdf: KdfProfile, argon2_calls: Argon2Calls
) -> None:
    """Damage is reported as damage (not as a wrong password) and before any KDF run."""
    data = damage_cases(sealed)[case]
    with pytest.raises(StorageError) as info:
        keystore.open_sealed(data, password, fast_kdf)
    assert_one_line(info.value)
    assert argon2_calls.calls == []


def test_every_single_byte_flip_is_refused(
    sealed: bytes, password: bytearray, fast_kdf: KdfProfile
) -> None:
    for offset in range(len(sealed)):
        with pytest.raises(StorageError):
            keystore.open_sealed(flip(sealed, offset), password, fast_kdf)


def test_checksum_tells_damage_from_wrong_password(
    sealed: bytes, password: bytearray, fast_kdf: KdfProfile
) -> None:
    """Same damaged ciphertext: with the trailer as written it is damage; with the
    trailer recomputed the AEAD still refuses it (the checksum authenticates nothing)."""
    damaged = flip(sealed, HEADER.size + crypto.NONCE_SIZE + 3)
    with pytest.raises(StorageError):
        keystore.open_sealed(damaged, password, fast_kdf)
    with pytest.raises(WrongPasswordError):
        keystore.open_sealed(with_trailer(damaged[:-TRAILER]), password, fast_kdf)
    with pytest.raises(WrongPasswordError):
        keystore.open_sealed(sealed, bytearray(b"wrong"), fast_kdf)


def test_validly_sealed_but_malformed_payload_is_a_storage_error(
    password: bytearray, fast_kdf: KdfProfile
) -> None:
    """A keystore sealed by someone who knows the password but with the wrong contents."""
    salt = crypto.random_bytes(crypto.SALT_SIZE)
    header = HEADER.pack(b"OVKS", 1, 1, fast_kdf.opslimit, fast_kdf.memlimit, salt)
    key = crypto.argon2id(password, salt, fast_kdf.opslimit, fast_kdf.memlimit)
    for payload in (b"\x00", b"\xff", b"\x07\x00\x00\x00\x00"):
        data = with_trailer(header + crypto.aead_encrypt(key, payload, header))
        with pytest.raises(StorageError):
            keystore.open_sealed(data, password, fast_kdf)


def test_missing_keystore_file_is_a_storage_error(tmp_path: Path, password: bytearray) -> None:
    with pytest.raises(StorageError):
        keystore.read(tmp_path / "nothing-here", password, INSECURE_TEST)


# -- reading the file (writing it: test_files.py) ----------------------------------------
def test_huge_keystore_file_is_refused_without_reading_it(
    tmp_path: Path, password: bytearray, fast_kdf: KdfProfile, argon2_calls: Argon2Calls
) -> None:
    path = tmp_path / "keystore"
    with path.open("wb") as fh:
        fh.truncate(4 * 1024**3)  # sparse: costs no disk
    with pytest.raises(StorageError) as info:
        keystore.read(path, password, fast_kdf)
    assert_one_line(info.value)
    assert argon2_calls.calls == []


# -- profiles -------------------------------------------------------------------------------


# The variable's name is part of the contract (README, tests/clirun.py): spelled out here.
TEST_KDF = "OFFICEVAULT_INSECURE_TEST_KDF"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, MODERATE),
        ({TEST_KDF: "1"}, INSECURE_TEST),
        ({TEST_KDF: "0"}, MODERATE),
        ({TEST_KDF: ""}, MODERATE),
        ({TEST_KDF: "true"}, MODERATE),
        ({TEST_KDF: "yes"}, MODERATE),
        ({TEST_KDF: "01"}, MODERATE),
        ({TEST_KDF: " 1"}, MODERATE),
        ({TEST_KDF: "1 "}, MODERATE),
        ({TEST_KDF.lower(): "1"}, MODERATE),
        ({"OFFICEVAULT_INSECURE_TEST": "1"}, MODERATE),
        ({"OFFICEVAULT_NOW": "1", "OFFICEVAULT_DEBUG": "1"}, MODERATE),
    ],
    ids=[
        "unset",
        "exactly-1",
        "zero",
        "empty",
        "true",
        "yes",
        "01",
        "leading-space",
        "trailing-space",
        "lower-case-name",
        "other-name",
        "other-test-switches",
    ],
)
def test_profile_from_env(environ: dict[str, str], expected: KdfProfile) -> None:
    """The insecure profile only on an exact opt-in; anything else is production cost."""
    assert keystore.profile_from_env(environ) is expected


def test_moderate_meets_the_floor() -> None:
    assert MODERATE.opslimit >= 3
    assert MODERATE.memlimit >= 64 * MIB
    assert MODERATE.floor_ops >= 3
    assert MODERATE.floor_mem >= 64 * MIB
    assert MODERATE.opslimit >= MODERATE.floor_ops
    assert MODERATE.memlimit >= MODERATE.floor_mem


def test_test_profile_is_cheap_and_named_as_insecure(fast_kdf: KdfProfile) -> None:
    assert fast_kdf is INSECURE_TEST
    assert "insecure" in fast_kdf.name
    assert fast_kdf.opslimit < MODERATE.floor_ops or fast_kdf.memlimit < MODERATE.floor_mem
