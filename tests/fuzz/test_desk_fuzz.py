"""Fuzzing the admin node's join desk: node.enrollment `Desk.handle`, one frame in, one out.

The desk listens on the LAN for anyone, and reads the invite it is asked about
from the membership log, which any admin can write. Threats: hostile frames
(damaged hellos and requests, another endpoint's frames), and an invite whose
sealed words are not a code at all (an admin sealed arbitrary bytes), make the
desk raise instead of answering, which stops the node's loop. handle never
raises, and always answers with one join message: a key or a refusal.

The admin node here is a stand-in holding what a hello reads (a real membership
fold, the admin's identity); a request with a wrong confirmation never reaches
the enrolment itself.
"""

from __future__ import annotations

import types
from typing import cast

from hypothesis import given, settings
from hypothesis import strategies as st

from node import codec, crypto, enrollment, messages, pake
from node.messages import JoinHello, JoinKey, JoinRefused, JoinRequest
from node.office import Office
from node.records import Invite
from node.tokens import Role
from tests.conftest import T0
from tests.fuzz.hostile import FUZZ, hostile, outcome, reshaped
from tests.node.membership_builders import OFFICE, A, enroll, fold_, genesis, sign

NAMEPLATE = 42
CODE = b"otter-piano-ember"
NOW = T0 + 100
CLIENT = pake.Side(CODE, NAMEPLATE, server=False)
HELLO = messages.encode_join(JoinHello(NAMEPLATE, CLIENT.message))
FRAMES = [
    HELLO,
    messages.encode_join(JoinRequest(bytes(16), bytes(32), b"sealed")),
    messages.encode_join(JoinRefused("no")),
]

# Regression example (found by this file): an admin sealed bytes that are not UTF-8 as an
# invite's words; the desk's `secret.decode()` raised UnicodeDecodeError out of `handle`.
NOT_A_CODE = b"\xff\xfe-not-words"


def _admin_node(secret: bytes) -> Office:
    """Admin A, holding one open invite (nameplate 42) whose words are `secret`, sealed to it."""
    g = genesis()
    ea = enroll(None, A, "alice", Role.ADMIN, [g], T0 + 1)
    sealed = {A.id: crypto.seal(A.box.public, secret)}
    invite = sign(A, [ea], T0 + 2, Invite(b"\x33" * 16, NAMEPLATE, "bob", "member", T0 + 86_400,
                                         sealed))  # fmt: skip
    state = fold_(g, ea, invite).state
    identity = types.SimpleNamespace(device_id=A.id, box=A.box, root=None)
    node = types.SimpleNamespace(membership=types.SimpleNamespace(state=state),
                                 identity=identity, office_id=OFFICE)  # fmt: skip
    return cast(Office, node)


def _answers(desk: enrollment.Desk, frame: bytes) -> JoinKey | JoinRefused:
    reply = outcome(lambda: desk.handle(frame, NOW))  # no error of any kind
    assert reply is not None
    message = messages.decode_join(reply)
    assert isinstance(message, JoinKey | JoinRefused)
    return message


def test_the_desk_answers_a_genuine_hello_with_a_key() -> None:
    """Control: the stand-in admin node opens the invite and answers the hello."""
    assert isinstance(_answers(enrollment.Desk(_admin_node(CODE), 4000), HELLO), JoinKey)


def test_an_invite_sealing_bytes_that_are_not_a_code_is_refused() -> None:
    reply = _answers(enrollment.Desk(_admin_node(NOT_A_CODE), 4000), HELLO)
    assert isinstance(reply, JoinRefused)


secrets = st.sampled_from([CODE, NOT_A_CODE, b""]) | st.binary(max_size=40)
frames = (
    st.just(HELLO) | hostile(FRAMES, max_size=200) | reshaped([codec.decode(f) for f in FRAMES])
)


@settings(FUZZ, max_examples=120)
@given(secrets, frames,
       st.binary(min_size=32, max_size=32))  # fmt: skip
def test_the_desk_answers_every_frame(secret: bytes, frame: bytes, confirm: bytes) -> None:
    """Threat: a hostile frame, or an invite an admin sealed garbage into, makes the desk
    raise; and after a hello, a request with a wrong confirmation is not refused."""
    desk = enrollment.Desk(_admin_node(secret), 4000)
    reply = _answers(desk, frame)
    if isinstance(reply, JoinKey):
        request = messages.encode_join(JoinRequest(reply.session, confirm, b"sealed"))
        assert isinstance(_answers(desk, request), JoinRefused)
