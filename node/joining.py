"""The two messages of joining an office: the new PC's request and the admin's welcome.

A *request* is the new device's public keys and the user's name, signed by
the device's own key (proof that it holds the private key). A *welcome* is
the office's root public key, its name and every membership record,
including the new device's enrolment.

The network layer carries these over a channel authenticated by the invite
code; the CLI can also carry them as files (a USB stick) where the LAN is
out of reach. A welcome file is authenticated by the invite code too: it
carries a MAC over the office root key and the exact request it answers,
keyed by Argon2id of the code's secret words (salted with the request), so
a welcome made by anyone without the code, or for another PC, is refused
before its root key is pinned. The code has only 24 bits: the Argon2id cost
makes an offline search of a captured welcome take about a CPU-month, and
the invite is used up by then. The fingerprint check by eye stays as a
second line of defence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from node import codec, crypto, tokens
from node.codec import Fields
from node.errors import CryptoError, DecodeError, PeerError

REQUEST_DOMAIN = b"OfficeVault join request v1\x00"
REQUEST_MAGIC = b"OVREQ1"
WELCOME_MAGIC = b"OVWEL1"
MAX_REQUEST = 4096
MAX_WELCOME = 16 * 1024 * 1024


@dataclass(frozen=True)
class JoinRequest:
    user: str
    sign_public: bytes
    box_public: bytes

    @property
    def device_id(self) -> bytes:
        return tokens.device_id_of(self.sign_public)


@dataclass(frozen=True)
class Welcome:
    office_name: str
    root_public: bytes
    records: tuple[bytes, ...]
    mac: bytes


MAC_DOMAIN = b"OfficeVault welcome mac v1"


Kdf = Callable[[bytes | bytearray, bytes, int, int], bytearray]  # as crypto.argon2id


def welcome_mac(
    code_secret: bytes, root_public: bytes, request: bytes, kdf: Kdf | None = None
) -> bytes:
    """MAC binding an office root to the request it answers, keyed by the invite code
    (Argon2id: `kdf`, else crypto.argon2id)."""
    kdf = kdf or crypto.argon2id
    salt = crypto.digest(MAC_DOMAIN, request)[: crypto.SALT_SIZE]
    key = kdf(code_secret, salt, crypto.ARGON2ID_OPS_INTERACTIVE, crypto.ARGON2ID_MEM_INTERACTIVE)
    try:
        return bytes(
            crypto.subkey(key, MAC_DOMAIN + root_public + crypto.digest(MAC_DOMAIN, request))
        )
    finally:
        crypto.wipe(key)


def check_welcome(welcome: Welcome, code_secret: bytes, request: bytes) -> None:
    if not crypto.equal(welcome_mac(code_secret, welcome.root_public, request), welcome.mac):
        raise PeerError(
            "this welcome does not match the invite code and this PC "
            "(wrong code, a welcome for another PC, or a forged file)"
        )


def make_request(user: str, key: crypto.SigningKeyPair, box_public: bytes) -> bytes:
    body = codec.encode({"user": user, "sign_public": key.public, "box_public": box_public})
    return REQUEST_MAGIC + key.sign(REQUEST_DOMAIN + body) + body


def read_request(data: bytes) -> JoinRequest:
    if len(data) > MAX_REQUEST or not data.startswith(REQUEST_MAGIC):
        raise PeerError("that is not an OfficeVault join request")
    sig_end = len(REQUEST_MAGIC) + crypto.SIG_SIZE
    signature, body = data[len(REQUEST_MAGIC) : sig_end], data[sig_end:]
    try:
        # Self-signed: the key to check with is inside the body, so read it first
        # (the body is capped above and the decoder is strict).
        f = Fields(codec.decode(body), "join request").exactly("user", "sign_public", "box_public")
        request = JoinRequest(
            f.text("user", tokens.MAX_NAME), f.blob("sign_public", 32), f.blob("box_public", 32)
        )
        crypto.verify(request.sign_public, REQUEST_DOMAIN + body, signature)
    except (DecodeError, CryptoError):
        raise PeerError("the join request is damaged or was altered") from None
    if not tokens.valid_user_name(request.user):
        raise PeerError("the join request names an invalid user")
    return request


def make_welcome(welcome: Welcome) -> bytes:
    return WELCOME_MAGIC + codec.encode(
        {
            "office_name": welcome.office_name,
            "root_public": welcome.root_public,
            "records": list(welcome.records),
            "mac": welcome.mac,
        }
    )


def read_welcome(data: bytes) -> Welcome:
    if len(data) > MAX_WELCOME or not data.startswith(WELCOME_MAGIC):
        raise PeerError("that is not an OfficeVault welcome file")
    try:
        f = Fields(codec.decode(data[len(WELCOME_MAGIC) :]), "welcome").exactly(
            "office_name", "root_public", "records", "mac"
        )
        blobs = f.array("records", 100_000)
        if not all(isinstance(b, bytes) for b in blobs):
            raise DecodeError("records are not bytes")
        return Welcome(
            f.text("office_name", 128),
            f.blob("root_public", 32),
            tuple(b for b in blobs if isinstance(b, bytes)),
            f.blob("mac", crypto.KEY_SIZE),
        )
    except DecodeError:
        raise PeerError("the welcome file is damaged") from None
