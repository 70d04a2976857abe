"""The recovery kit: the office root key, sealed under a long random recovery code.

The code is 160 random bits written as 32 Crockford base32 characters in
groups of four. It is never stored: `vault-admin init` prints it once. With
that much entropy a password hash adds nothing, so the key is a keyed
BLAKE2b of the code. The kit also carries the office's genesis record, so a
new PC with nothing else can start an office replica and enrol itself.

File: b"OVKIT" | version u8 | office_id (16) | XChaCha20-Poly1305(payload,
aad = everything before it).
"""

from __future__ import annotations

from dataclasses import dataclass

from node import codec, crypto
from node.errors import CryptoError, DecodeError, StorageError, UserError

MAGIC = b"OVKIT\x01"
CODE_BYTES = 20
MAX_KIT_SIZE = 16 * 1024
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
_READ_AS = {"O": "0", "I": "1", "L": "1"}
_CONTEXT = b"OfficeVault recovery kit v1"


@dataclass(frozen=True)
class Kit:
    office_id: bytes
    office_name: str
    root_seed: bytes
    genesis: bytes

    def __repr__(self) -> str:
        return f"Kit({self.office_name!r}, <sealed>)"


def new_code() -> str:
    return format_code(crypto.random_bytes(CODE_BYTES))


def format_code(raw: bytes) -> str:
    number = int.from_bytes(raw, "big")
    chars = [_ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(len(raw) * 8 // 5))]
    text = "".join(chars)
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def parse_code(text: str) -> bytes:
    cleaned = "".join(_READ_AS.get(c, c) for c in text.upper() if c not in " -\t\n")
    if len(cleaned) != CODE_BYTES * 8 // 5 or any(c not in _ALPHABET for c in cleaned):
        raise UserError("that is not a recovery code (expected 32 letters and digits)")
    number = 0
    for c in cleaned:
        number = (number << 5) | _ALPHABET.index(c)
    return number.to_bytes(CODE_BYTES, "big")


def seal(kit: Kit, code: str) -> bytes:
    header = MAGIC + kit.office_id
    key = crypto.subkey(parse_code(code), _CONTEXT)
    payload = bytearray(
        codec.encode(
            {"office_name": kit.office_name, "root_seed": kit.root_seed, "genesis": kit.genesis}
        )
    )
    try:
        return header + crypto.aead_encrypt(key, payload, header)
    finally:
        crypto.wipe(key)
        crypto.wipe(payload)


def open_kit(data: bytes, code: str) -> Kit:
    if len(data) > MAX_KIT_SIZE or len(data) < len(MAGIC) + crypto.ID_SIZE + 40:
        raise StorageError("that file is not an OfficeVault recovery kit")
    if not data.startswith(MAGIC):
        raise StorageError("that file is not an OfficeVault recovery kit")
    header_size = len(MAGIC) + crypto.ID_SIZE
    header = data[:header_size]
    key = crypto.subkey(parse_code(code), _CONTEXT)
    try:
        payload = crypto.aead_decrypt(key, data[header_size:], header)
    except CryptoError:
        raise UserError(
            "the recovery code does not open this kit (or the kit was altered)"
        ) from None
    finally:
        crypto.wipe(key)
    try:
        f = codec.Fields(codec.decode(bytes(payload)), "recovery kit").exactly(
            "office_name", "root_seed", "genesis"
        )
        return Kit(
            office_id=header[len(MAGIC) :],
            office_name=f.text("office_name", 128),
            root_seed=f.blob("root_seed", 32),
            genesis=f.blob("genesis", max_size=MAX_KIT_SIZE),
        )
    except DecodeError:
        raise StorageError("the recovery kit's contents are damaged") from None
    finally:
        crypto.wipe(payload)
