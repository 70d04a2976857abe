"""Fuzzing the two files of joining: node.joining `read_request` (the new PC's request, read
by an admin) and `read_welcome` (the admin's answer, read by the new PC).

Both arrive as files on a USB stick or sealed in the LAN join, from a PC not
yet trusted. Threats: a request altered to name another user or box key than
its key signed; a self-signed request whose body has the wrong shape; a
welcome file of the wrong shape that crashes the reader before its MAC is
checked, or, altered, passes its MAC with another office root; an invite
code typed wrong crashes its parser. Only PeerError (InviteError for a code)
may escape; an accepted request is one its own key signed, both files read
back to exactly their bytes, and only the genuine root passes the MAC.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from node import codec, crypto, invites, joining
from node.errors import InviteError, PeerError
from node.joining import REQUEST_DOMAIN, REQUEST_MAGIC, WELCOME_MAGIC, JoinRequest, Welcome
from node.wordlist import WORDS
from tests.fuzz.hostile import FUZZ, damaged, hostile, outcome, reshaped
from tests.fuzz.samples import cheap_kdf
from tests.node.membership_builders import ROOT, A, C, office_log

SIG_END = len(REQUEST_MAGIC) + crypto.SIG_SIZE
REQUESTS = (
    joining.make_request("alice", A.sign, A.box.public),
    joining.make_request("Carol Ünal", C.sign, C.box.public),
)
CODE_SECRET = b"otter-piano-ember"
with cheap_kdf():
    MAC = joining.welcome_mac(CODE_SECRET, ROOT.public, REQUESTS[0])
WELCOMES = (
    joining.make_welcome(Welcome("Acme Ltd", ROOT.public, tuple(office_log().blobs[:4]), MAC)),
    joining.make_welcome(Welcome("", ROOT.public, (), bytes(32))),
)
REQUEST_BODIES = [codec.decode(r[SIG_END:]) for r in REQUESTS]
WELCOME_BODIES = [codec.decode(w[len(WELCOME_MAGIC) :]) for w in WELCOMES]


def _request_body(request: JoinRequest) -> bytes:
    return codec.encode(
        {"user": request.user, "sign_public": request.sign_public, "box_public": request.box_public}
    )


def _signed_by_its_own_key(data: bytes, request: JoinRequest) -> bool:
    try:
        crypto.verify(request.sign_public, REQUEST_DOMAIN + data[SIG_END:],
                      data[len(REQUEST_MAGIC) : SIG_END])  # fmt: skip
    except PeerError:
        return False
    return True


def test_the_samples_are_valid() -> None:
    """Control: both readers accept what the writers made."""
    for data in REQUESTS:
        assert _request_body(joining.read_request(data)) == data[SIG_END:]
    for data in WELCOMES:
        assert joining.make_welcome(joining.read_welcome(data)) == data


@FUZZ
@given(hostile(REQUESTS + WELCOMES, max_size=300))
def test_a_damaged_request_is_refused_or_is_one_its_key_signed(data: bytes) -> None:
    """Threat: a join request altered in transit (user name, keys) is read as a request that
    the new PC's key signed, so the admin enrols a name or box key of the attacker's choosing."""
    request = outcome(lambda: joining.read_request(data), PeerError)
    if request is not None:
        assert data in REQUESTS or _signed_by_its_own_key(data, request)
        assert _request_body(request) == data[SIG_END:]


@FUZZ
@given(reshaped(REQUEST_BODIES))
def test_a_self_signed_malformed_request_is_refused_or_read_exactly(body: bytes) -> None:
    """Threat: a new PC signs, with its own key, a request body of the wrong shape (keys of
    the wrong size, an unprintable or over-long user name, extra fields)."""
    data = REQUEST_MAGIC + A.sign.sign(REQUEST_DOMAIN + body) + body
    request = outcome(lambda: joining.read_request(data), PeerError)
    if request is not None:
        assert _request_body(request) == body


@FUZZ
@given(hostile(WELCOMES + REQUESTS, max_size=300)
       | reshaped(WELCOME_BODIES).map(lambda body: WELCOME_MAGIC + body))  # fmt: skip
def test_a_hostile_welcome_is_refused_or_read_exactly(data: bytes) -> None:
    """Threat: a welcome file, not yet authenticated (its MAC is checked after reading), of
    the wrong shape crashes the new PC's reader or is read as other than its bytes."""
    welcome = outcome(lambda: joining.read_welcome(data), PeerError)
    if welcome is not None:
        assert joining.make_welcome(welcome) == data


@FUZZ
@given(damaged(WELCOMES[:1]))
def test_a_damaged_welcome_passes_its_mac_only_with_the_genuine_root(data: bytes) -> None:
    """Threat: a welcome file altered on the way (a USB stick, a LAN impostor) gets another
    office root pinned on the new PC: the MAC, keyed by the invite code and bound to this
    PC's request, must fail unless the root key and the MAC are the ones the admin made.
    (Argon2id of the code is samples.CheapKdf here.)"""
    welcome = outcome(lambda: joining.read_welcome(data), PeerError)
    if welcome is not None and _mac_passes(welcome):
        assert (welcome.root_public, welcome.mac) == (ROOT.public, MAC)


def _mac_passes(welcome: Welcome) -> bool:
    def check() -> bool:
        joining.check_welcome(welcome, CODE_SECRET, REQUESTS[0])
        return True

    with cheap_kdf():
        return outcome(check, PeerError) is not None


@st.composite
def typed_codes(draw: st.DrawFn) -> str:
    """What a person types for `42-otter-piano-ember`: parts from the word list or not, any
    case, any separators, a number that may be out of range or not a number."""
    number = draw(st.sampled_from(["42", "0", "9999", "10000", "007", "٤٢", "-1", ""]))
    words = draw(st.lists(st.sampled_from([*WORDS[:3], "Otter", "otter\u0301", "x"]),
                          min_size=2, max_size=4))  # fmt: skip
    separator = st.sampled_from(["-", " ", "--", "\t", "\u00a0", "_"])
    return number + "".join(draw(separator) + word for word in words)


@FUZZ
@given(typed_codes() | st.text(max_size=40))
def test_a_typed_invite_code_is_refused_or_read_back_the_same(text: str) -> None:
    """Threat: what a person types (or pastes) as an invite code crashes the parser instead
    of being one clear error, or two spellings of one code read as different codes."""
    code = outcome(lambda: invites.parse_code(text), InviteError)
    if code is not None:
        assert 0 < code.nameplate <= invites.MAX_NAMEPLATE
        assert invites.parse_code(str(code)) == code
