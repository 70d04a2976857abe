"""Joining over the LAN with an invite code: the admin node's desk and the new PC's side.

1. New PC -> admin node: JoinHello(nameplate, SPAKE2 message).
2. The admin node finds the open invite with that nameplate, opens its words
   (sealed to admin devices), answers JoinKey(session, SPAKE2 message).
   Both now hold a session key, equal only if both used the same words.
3. New PC: JoinRequest(key confirmation, its join request sealed under the
   session key). A wrong confirmation is a wrong code: the attempt counts,
   and after MAX_FAILURES the invite is closed on this node.
4. The admin node enrols the device exactly as `vault-admin enroll` does
   (the user name and role come from the invite) and answers
   JoinWelcome(its own confirmation, the welcome file sealed under the key,
   its sync port). The new PC checks the confirmation first: only an admin
   holding the invite could make it, so it reached the real office, not an
   mDNS impostor. The welcome's own MAC (keyed by Argon2id of the code) and
   every record's signature are checked again when it is accepted.

Both sides are plain functions of (frame, now) -> frame; the transport
carries the bytes. Nothing here logs or returns the code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from node import crypto, invites, isolated, messages, onboarding, pake
from node.datadir import DataDir
from node.errors import DecodeError, HelperError, InviteError, PeerError, UserError
from node.keystore import KdfProfile
from node.messages import JoinHello, JoinKey, JoinRefused, JoinRequest, JoinWelcome
from node.office import Office
from node.pake import Side

SESSION_TTL = 120  # seconds a half-done join may wait
MAX_SESSIONS = 64
MAX_FAILURES = 3
HELPER_FAILED = "the admin node could not answer (see its log); try again or ask the admin"
AAD_REQUEST = b"OfficeVault join request v1"
AAD_WELCOME = b"OfficeVault join welcome v1"


@dataclass
class _Session:
    pake: pake.Session
    code: str
    invite_id: bytes
    started: int


@dataclass
class Desk:
    """The admin node's enrollment desk."""

    office: Office
    sync_port: int
    failures: dict[bytes, int] = field(default_factory=dict)  # invite id -> wrong codes
    sessions: dict[bytes, _Session] = field(default_factory=dict)
    log: Callable[[str], None] = lambda _line: None
    isolate: bool = False  # the key exchange and Argon2id in a child process (node/isolated.py)

    def handle(self, frame: bytes, now: int) -> bytes:
        """One request in, one reply out; never raises for a peer's bytes."""
        try:
            message = messages.decode_join(frame)
            if isinstance(message, JoinHello):
                return messages.encode_join(self._hello(message, now))
            if isinstance(message, JoinRequest):
                return messages.encode_join(self._request(message, now))
            raise DecodeError("unexpected join message")
        except HelperError:
            self.log("a join failed: this PC's join helper process did not work")
            return messages.encode_join(JoinRefused(HELPER_FAILED))
        except (DecodeError, PeerError):
            return messages.encode_join(JoinRefused("a malformed join message"))
        except UserError as exc:
            return messages.encode_join(JoinRefused(str(exc)))

    def _hello(self, hello: JoinHello, now: int) -> JoinKey:
        self._expire(now)
        if len(self.sessions) >= MAX_SESSIONS:
            raise UserError("the admin node is busy with other joins; try again in a minute")
        state = self.office.membership.state
        open_invites = [i for i in state.open_invites(now) if i.invite.nameplate == hello.nameplate]
        if not open_invites:
            raise InviteError("that invite code is not known, already used, or expired")
        issued = min(open_invites, key=lambda i: i.record_id)
        if self.failures.get(issued.invite.invite_id, 0) >= MAX_FAILURES:
            raise InviteError("too many wrong codes for this invite; ask an admin for a new one")
        secret = self._secret(issued.invite.sealed)
        try:
            words = secret.decode().split("-")
        except UnicodeDecodeError:  # an admin sealed bytes that are no invite code
            raise InviteError("that invite is damaged; ask an admin for a new one") from None
        answer = isolated.pake_answer if self.isolate else pake.answer
        message, exchange = answer(secret, hello.nameplate, hello.pake)
        session = crypto.random_bytes(messages.ID)
        code = "-".join((str(hello.nameplate), *words))
        self.sessions[session] = _Session(exchange, code, issued.invite.invite_id, now)
        return JoinKey(session, message)

    def _secret(self, sealed: dict[bytes, bytes]) -> bytes:
        identity = self.office.identity
        pairs = [(identity.device_id, identity.box)]
        if identity.root is not None:
            pairs.append((self.office.office_id, identity.root.box_keys()))
        for recipient, box in pairs:
            if recipient in sealed:
                try:
                    return bytes(box.unseal(sealed[recipient]))
                except PeerError:
                    continue
        raise InviteError("this admin node cannot open that invite (it was made before it joined)")

    def _request(self, request: JoinRequest, now: int) -> JoinWelcome:
        session = self.sessions.pop(request.session, None)
        if session is None or now - session.started > SESSION_TTL:
            raise UserError("the join took too long or was not started; run it again")
        if not session.pake.check(request.confirm):
            count = self.failures.get(session.invite_id, 0) + 1
            self.failures[session.invite_id] = count
            self.log(f"a join with a wrong invite code (attempt {count} of {MAX_FAILURES})")
            raise InviteError("that invite code is not right")
        try:
            join_request = bytes(crypto.aead_decrypt(session.pake.key, request.sealed, AAD_REQUEST))
        except PeerError:
            raise UserError("the join request could not be opened") from None
        delivered: list[bytes] = []
        kdf = isolated.argon2id if self.isolate else None
        self.office.enroll(session.code, join_request, now, delivered.append, kdf)
        sealed = crypto.aead_encrypt(session.pake.key, delivered[0], AAD_WELCOME)
        self.log("enrolled a new PC with an invite code")
        return JoinWelcome(session.pake.confirmation(of_server=True), sealed, self.sync_port)

    def _expire(self, now: int) -> None:
        for key in [k for k, s in self.sessions.items() if now - s.started > SESSION_TTL]:
            del self.sessions[key]


Exchange = Callable[[bytes], bytes]  # send one frame to the admin node, return its reply


def join(
    path: Path,
    name: str,
    password: bytearray,
    profile: KdfProfile,
    code_text: str,
    exchange: Exchange,
) -> tuple[Office, int]:
    """Make this PC's device (or reuse the one not yet joined), join, and accept the welcome.

    Returns the joined device and the admin node's sync port.
    """
    code = invites.parse_code(code_text)
    requests: list[bytes] = []
    onboarding.new_device(path, name, password, profile, requests.append)
    try:
        return _join(path, password, profile, code, requests[0], exchange)
    except BaseException:
        DataDir(path).remove_partial()  # the device we just made never joined: no trace left
        raise


def _join(
    path: Path,
    password: bytearray,
    profile: KdfProfile,
    code: invites.InviteCode,
    request: bytes,
    exchange: Exchange,
) -> tuple[Office, int]:
    side = Side(code.secret, code.nameplate, server=False)
    reply = _ask(exchange, JoinHello(code.nameplate, side.message))
    if not isinstance(reply, JoinKey):
        raise InviteError("the admin node did not answer the join as expected")
    session = side.finish(reply.pake)
    sealed = crypto.aead_encrypt(session.key, request, AAD_REQUEST)
    answer = _ask(
        exchange, JoinRequest(reply.session, session.confirmation(of_server=False), sealed)
    )
    if not isinstance(answer, JoinWelcome) or not session.check(answer.confirm):
        raise InviteError(
            "the PC that answered could not prove it holds this invite: it is not your office "
            "(or the code is wrong); nothing was joined"
        )
    try:
        welcome = bytes(crypto.aead_decrypt(session.key, answer.sealed, AAD_WELCOME))
    except PeerError:
        raise InviteError("the welcome could not be opened; nothing was joined") from None
    office = onboarding.accept_welcome(path, password, profile, welcome, str(code))
    return office, answer.sync_port


def _ask(exchange: Exchange, message: messages.JoinMessage) -> messages.JoinMessage:
    try:
        reply = messages.decode_join(exchange(messages.encode_join(message)))
    except DecodeError:
        raise PeerError("the admin node sent a malformed answer") from None
    if isinstance(reply, JoinRefused):
        raise InviteError(f"the admin node refused: {reply.reason}")
    return reply
