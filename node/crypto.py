"""The one module that imports PyNaCl: signatures, sealing, AEAD, Argon2id.

Choices (see DESIGN.md, "Security parameters"):
- Ed25519 signatures over exact bytes (RFC 8032; libsodium crypto_sign).
- X25519 sealed boxes for wrapping keys to a device (libsodium crypto_box_seal).
- XChaCha20-Poly1305-IETF for AEAD: 192-bit random nonces are safe to pick at
  random for any number of messages (libsodium docs, "XChaCha20-Poly1305").
- Argon2id for passwords (RFC 9106), cost at least libsodium's MODERATE.

Every failure of a check becomes one opaque `CryptoError`; nothing here
formats a key or a plaintext into a message. Secret keys are handed around
as `bytes` only where PyNaCl demands it; buffers we own are bytearrays that
callers can `wipe()`.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import nacl.bindings as sodium
import nacl.exceptions
import nacl.public
import nacl.pwhash
import nacl.signing
import nacl.utils

from node.errors import CryptoError

KEY_SIZE = 32
NONCE_SIZE = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
TAG_SIZE = sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES
SIG_SIZE = 64
SALT_SIZE = nacl.pwhash.argon2id.SALTBYTES
ID_SIZE = 16

ARGON2ID_OPS_MODERATE = nacl.pwhash.argon2id.OPSLIMIT_MODERATE
ARGON2ID_MEM_MODERATE = nacl.pwhash.argon2id.MEMLIMIT_MODERATE
ARGON2ID_OPS_INTERACTIVE = nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE
ARGON2ID_MEM_INTERACTIVE = nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE
ARGON2ID_OPS_MIN = nacl.pwhash.argon2id.OPSLIMIT_MIN
ARGON2ID_MEM_MIN = nacl.pwhash.argon2id.MEMLIMIT_MIN


def random_bytes(n: int) -> bytes:
    return bytes(nacl.utils.random(n))


def digest(domain: bytes, *parts: bytes) -> bytes:
    """SHA-256 over a domain tag and length-prefixed parts (no ambiguity)."""
    h = hashlib.sha256()
    h.update(len(domain).to_bytes(2, "big") + domain)
    for part in parts:
        h.update(len(part).to_bytes(8, "big") + part)
    return h.digest()


def key_id(domain: bytes, public_key: bytes) -> bytes:
    """A 128-bit identifier for a public key within one domain."""
    return digest(domain, public_key)[:ID_SIZE]


def equal(a: bytes | bytearray, b: bytes | bytearray) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(bytes(a), bytes(b))


def wipe(buf: bytearray) -> None:
    """Overwrite a secret we own. Python copies cannot be reached; this is best effort."""
    for i in range(len(buf)):
        buf[i] = 0


@dataclass(frozen=True)
class SigningKeyPair:
    """An Ed25519 key pair, made from a 32-byte seed."""

    seed: bytes
    public: bytes

    @classmethod
    def generate(cls) -> SigningKeyPair:
        return cls.from_seed(random_bytes(32))

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKeyPair:
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        key = nacl.signing.SigningKey(bytes(seed))
        return cls(seed=bytes(seed), public=bytes(key.verify_key))

    def sign(self, message: bytes) -> bytes:
        return bytes(nacl.signing.SigningKey(self.seed).sign(message).signature)

    def box_keys(self) -> BoxKeyPair:
        """The X25519 pair that belongs to this Ed25519 key (used for the office root)."""
        private = nacl.signing.SigningKey(self.seed).to_curve25519_private_key()
        return BoxKeyPair.from_secret(bytes(private))

    def __repr__(self) -> str:
        return "SigningKeyPair(<secret>)"


def box_public_of_signing_key(public: bytes) -> bytes:
    """The X25519 public key that belongs to an Ed25519 public key."""
    try:
        return bytes(sodium.crypto_sign_ed25519_pk_to_curve25519(public))
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        raise CryptoError("not a valid public key") from None


def verify(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Check an Ed25519 signature over the exact bytes given; raise CryptoError if bad."""
    if len(public_key) != 32 or len(signature) != SIG_SIZE:
        raise CryptoError("signature check failed")
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError):
        raise CryptoError("signature check failed") from None


@dataclass(frozen=True)
class BoxKeyPair:
    """An X25519 key pair: the device's sealed-box key, and later its CurveZMQ key."""

    secret: bytes
    public: bytes

    @classmethod
    def generate(cls) -> BoxKeyPair:
        return cls.from_secret(random_bytes(32))

    @classmethod
    def from_secret(cls, secret: bytes) -> BoxKeyPair:
        if len(secret) != 32:
            raise ValueError("an X25519 secret is 32 bytes")
        key = nacl.public.PrivateKey(bytes(secret))
        return cls(secret=bytes(secret), public=bytes(key.public_key))

    def unseal(self, sealed: bytes) -> bytearray:
        try:
            box = nacl.public.SealedBox(nacl.public.PrivateKey(self.secret))
            return bytearray(box.decrypt(sealed))
        except (nacl.exceptions.CryptoError, ValueError, TypeError):
            raise CryptoError("could not open sealed data") from None

    def __repr__(self) -> str:
        return "BoxKeyPair(<secret>)"


def seal(recipient_public: bytes, plaintext: bytes | bytearray) -> bytes:
    """Encrypt to an X25519 public key anonymously (crypto_box_seal)."""
    try:
        box = nacl.public.SealedBox(nacl.public.PublicKey(recipient_public))
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        raise CryptoError("not a valid public key") from None
    return bytes(box.encrypt(bytes(plaintext)))


def aead_encrypt(key: bytes | bytearray, plaintext: bytes | bytearray, aad: bytes) -> bytes:
    """XChaCha20-Poly1305 with a random nonce; returns nonce || ciphertext || tag."""
    nonce = random_bytes(NONCE_SIZE)
    body = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
        bytes(plaintext), aad, nonce, bytes(key)
    )
    return nonce + bytes(body)


def aead_decrypt(key: bytes | bytearray, sealed: bytes, aad: bytes) -> bytearray:
    if len(sealed) < NONCE_SIZE + TAG_SIZE:
        raise CryptoError("could not decrypt")
    try:
        plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
            sealed[NONCE_SIZE:], aad, sealed[:NONCE_SIZE], bytes(key)
        )
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        raise CryptoError("could not decrypt") from None
    return bytearray(plain)


def argon2id(password: bytes | bytearray, salt: bytes, opslimit: int, memlimit: int) -> bytearray:
    """Derive a 256-bit key from a password (RFC 9106 Argon2id via libsodium)."""
    try:
        key = nacl.pwhash.argon2id.kdf(
            KEY_SIZE, bytes(password), salt, opslimit=opslimit, memlimit=memlimit
        )
    except (nacl.exceptions.CryptoError, ValueError, TypeError, MemoryError):
        raise CryptoError("the password hash could not be computed") from None
    return bytearray(key)


def subkey(key: bytes | bytearray, context: bytes) -> bytearray:
    """Derive a purpose-bound subkey from a uniformly random key (keyed BLAKE2b)."""
    return bytearray(hashlib.blake2b(context, key=bytes(key), digest_size=KEY_SIZE).digest())
