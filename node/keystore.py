"""The device keystore: this install's private keys, sealed under the user's password.

File layout (all integers big-endian):

    header  = b"OVKS" | version u8 (=1) | kdf u8 (=1, Argon2id)
              | opslimit u32 | memlimit u64 | salt (16)
    sealed  = XChaCha20-Poly1305(key=Argon2id(password, header params),
                                 payload, aad=header)
    trailer = SHA-256(header | sealed)

The header is authenticated as AEAD associated data, and its KDF cost is
checked against a floor *before* the password is run through it, so a
swapped-in keystore with weak parameters never gets to see the password.
The trailer is only an integrity checksum: it lets us tell "the file is
damaged" apart from "the password is wrong" without weakening either check.

The payload holds the device's Ed25519 seed, its X25519 secret, the random
256-bit SQLCipher key (one KDF unwraps everything), and, on devices that hold
it, the office root seed. This module does no network or database work.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from node import codec, crypto, files
from node.errors import CryptoError, DecodeError, StorageError, WrongPasswordError

MAGIC = b"OVKS"
VERSION = 1
KDF_ARGON2ID = 1
_HEADER = struct.Struct(">4sBBIQ16s")
HEADER_SIZE = _HEADER.size
MAX_FILE_SIZE = 64 * 1024
TEST_KDF_ENV = "OFFICEVAULT_INSECURE_TEST_KDF"
MAX_OPS = 32  # ceilings: a tampered header must not make us hash for minutes or OOM
MAX_MEM = 1024 * 1024 * 1024


@dataclass(frozen=True)
class KdfProfile:
    """Argon2id cost for new keystores, and the lowest cost we agree to open."""

    name: str
    opslimit: int
    memlimit: int
    floor_ops: int
    floor_mem: int


# libsodium's MODERATE (3 passes, 256 MiB); floor from SECURITY_TESTS.md item 2
# (t >= 3, m >= 64 MiB), in line with OWASP's Argon2id guidance.
MODERATE = KdfProfile(
    "moderate", crypto.ARGON2ID_OPS_MODERATE, crypto.ARGON2ID_MEM_MODERATE, 3, 64 * 1024 * 1024
)
# Only for tests, and only when asked for explicitly (see `profile_from_env`).
INSECURE_TEST = KdfProfile(
    "insecure-test",
    crypto.ARGON2ID_OPS_MIN,
    crypto.ARGON2ID_MEM_MIN,
    crypto.ARGON2ID_OPS_MIN,
    crypto.ARGON2ID_MEM_MIN,
)


def profile_from_env(environ: Mapping[str, str]) -> KdfProfile:
    """MODERATE unless the test-only variable is set to exactly "1"."""
    return INSECURE_TEST if environ.get(TEST_KDF_ENV) == "1" else MODERATE


@dataclass(frozen=True)
class Secrets:
    """What a keystore holds. `root_seed` is present only on root-holding devices."""

    sign_seed: bytes
    box_secret: bytes
    db_key: bytes
    root_seed: bytes | None

    @classmethod
    def generate(cls, root_seed: bytes | None = None) -> Secrets:
        return cls(
            sign_seed=crypto.random_bytes(32),
            box_secret=crypto.random_bytes(32),
            db_key=crypto.random_bytes(32),
            root_seed=root_seed,
        )

    def __repr__(self) -> str:
        return "Secrets(<sealed>)"


def seal(secrets: Secrets, password: bytearray, profile: KdfProfile) -> bytes:
    """Seal `secrets` under `password` with the profile's cost; returns file bytes."""
    salt = crypto.random_bytes(crypto.SALT_SIZE)
    header = _HEADER.pack(MAGIC, VERSION, KDF_ARGON2ID, profile.opslimit, profile.memlimit, salt)
    payload = bytearray(
        codec.encode(
            {
                "sign_seed": secrets.sign_seed,
                "box_secret": secrets.box_secret,
                "db_key": secrets.db_key,
                "root_seed": secrets.root_seed,
            }
        )
    )
    try:
        key = crypto.argon2id(password, salt, profile.opslimit, profile.memlimit)
    except CryptoError:
        crypto.wipe(payload)
        raise StorageError("the password hash could not be computed on this machine") from None
    try:
        sealed = crypto.aead_encrypt(key, payload, header)
    finally:
        crypto.wipe(key)
        crypto.wipe(payload)
    body = header + sealed
    return body + hashlib.sha256(body).digest()


def open_sealed(data: bytes, password: bytearray, profile: KdfProfile) -> Secrets:
    """Check the file, check the KDF floor, then derive and decrypt."""
    if len(data) > MAX_FILE_SIZE or len(data) < HEADER_SIZE + 32 + crypto.NONCE_SIZE:
        raise StorageError("the keystore file is damaged (wrong size); restore it from a backup")
    body, trailer = data[:-32], data[-32:]
    if not crypto.equal(hashlib.sha256(body).digest(), trailer):
        raise StorageError("the keystore file is damaged or was altered; restore it from a backup")
    magic, version, kdf, opslimit, memlimit, salt = _HEADER.unpack(body[:HEADER_SIZE])
    if magic != MAGIC or version != VERSION or kdf != KDF_ARGON2ID:
        raise StorageError("this is not an OfficeVault keystore of a version we can read")
    if opslimit < profile.floor_ops or memlimit < profile.floor_mem:
        raise StorageError(
            "the keystore asks for a password hash weaker than allowed; refusing to use it"
        )
    if opslimit > MAX_OPS or memlimit > MAX_MEM:
        raise StorageError("the keystore asks for an unreasonable password-hash cost")
    try:
        key = crypto.argon2id(password, salt, opslimit, memlimit)
    except CryptoError:
        raise StorageError("the keystore's password-hash settings cannot run here") from None
    try:
        payload = crypto.aead_decrypt(key, body[HEADER_SIZE:], body[:HEADER_SIZE])
    except CryptoError:
        raise WrongPasswordError("wrong password") from None
    finally:
        crypto.wipe(key)
    try:
        fields = codec.Fields(codec.decode(bytes(payload)), "keystore").exactly(
            "sign_seed", "box_secret", "db_key", "root_seed"
        )
        root_seed = fields.raw()["root_seed"]
        if root_seed is not None:
            root_seed = fields.blob("root_seed", 32)
        return Secrets(
            sign_seed=fields.blob("sign_seed", 32),
            box_secret=fields.blob("box_secret", 32),
            db_key=fields.blob("db_key", 32),
            root_seed=root_seed,
        )
    except DecodeError:
        raise StorageError("the keystore contents are damaged") from None
    finally:
        crypto.wipe(payload)


def read(path: Path, password: bytearray, profile: KdfProfile) -> Secrets:
    if not path.is_file():
        raise StorageError(f"no keystore at {path}")
    return open_sealed(files.read_capped(path, MAX_FILE_SIZE, "keystore"), password, profile)
