"""node.joining: the join request (new PC -> admin) and the welcome (admin -> new PC).

Threats covered: both messages may travel as files on a USB stick or over
the LAN, so their bytes are untrusted. A request is self-signed: flipping
any byte, swapping in another key, or adding fields must be refused as a
`PeerError`; garbage or oversized input of either kind is a `PeerError`,
never another exception, and is refused before it is decoded. A welcome
carries a MAC keyed by the invite code (Argon2id INTERACTIVE, salted by the
request) over the office root and the request it answers: another code,
another request or another root fails `check_welcome`.
"""

from __future__ import annotations

import pytest

from node import codec, crypto, joining, tokens
from node.errors import PeerError
from node.joining import JoinRequest, Welcome
from node.office import Office
from node.tokens import Role
from tests.conftest import T0

SIG_START = len(joining.REQUEST_MAGIC)
BODY_START = SIG_START + crypto.SIG_SIZE


@pytest.fixture
def sign() -> crypto.SigningKeyPair:
    return crypto.SigningKeyPair.generate()


@pytest.fixture
def box() -> crypto.BoxKeyPair:
    return crypto.BoxKeyPair.generate()


@pytest.fixture
def request_bytes(sign: crypto.SigningKeyPair, box: crypto.BoxKeyPair) -> bytes:
    return joining.make_request("bob", sign, box.public)


@pytest.fixture
def welcome() -> Welcome:
    return Welcome(
        "Acme Ltd",
        crypto.random_bytes(32),
        (b"first record", b"second", b""),
        crypto.random_bytes(crypto.KEY_SIZE),
    )


def signed_request(key: crypto.SigningKeyPair, body: dict[str, codec.Value]) -> bytes:
    """A request with any body, correctly self-signed (what a hostile PC can make)."""
    raw = codec.encode(body)
    return joining.REQUEST_MAGIC + key.sign(joining.REQUEST_DOMAIN + raw) + raw


def enroll(office: Office, code_text: str, request: bytes, now: int) -> bytes:
    """Enrol through the Office API; returns the welcome it delivered."""
    delivered: list[bytes] = []
    office.enroll(code_text, request, now, delivered.append)
    assert len(delivered) == 1
    return delivered[0]


def flip(data: bytes, offset: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= 0x01
    return bytes(out)


# -- request ------------------------------------------------------------------------------


def test_request_round_trip(
    request_bytes: bytes, sign: crypto.SigningKeyPair, box: crypto.BoxKeyPair
) -> None:
    request = joining.read_request(request_bytes)
    assert request == JoinRequest("bob", sign.public, box.public)
    assert request.device_id == tokens.device_id_of(sign.public)


def test_request_keeps_an_unusual_but_valid_name(
    sign: crypto.SigningKeyPair, box: crypto.BoxKeyPair
) -> None:
    name = "Zoë O'Brien-Łukasz"
    assert joining.read_request(joining.make_request(name, sign, box.public)).user == name


@pytest.mark.parametrize(
    "where",
    [
        SIG_START,
        SIG_START + 31,
        BODY_START - 1,
        BODY_START,
        BODY_START + 10,
        -40,
        -1,
    ],
    ids=[
        "signature-first",
        "signature-middle",
        "signature-last",
        "body-tag",
        "body-early",
        "body-in-a-key",
        "body-last",
    ],
)
def test_tampered_request_is_a_peer_error(request_bytes: bytes, where: int) -> None:
    with pytest.raises(PeerError):
        joining.read_request(flip(request_bytes, where))


def test_every_single_byte_flip_is_refused(request_bytes: bytes) -> None:
    for offset in range(len(request_bytes)):
        with pytest.raises(PeerError):
            joining.read_request(flip(request_bytes, offset))


def test_request_with_a_swapped_key_is_refused(
    sign: crypto.SigningKeyPair, box: crypto.BoxKeyPair
) -> None:
    """Another key in the body, signed by the first: no proof of holding that key."""
    other = crypto.SigningKeyPair.generate()
    body: dict[str, codec.Value] = {
        "user": "bob",
        "sign_public": other.public,
        "box_public": box.public,
    }
    with pytest.raises(PeerError):
        joining.read_request(signed_request(sign, body))


def test_request_signed_without_the_domain_is_refused(
    sign: crypto.SigningKeyPair, box: crypto.BoxKeyPair
) -> None:
    """A signature over the bare body (e.g. made for another purpose) does not count."""
    raw = codec.encode({"user": "bob", "sign_public": sign.public, "box_public": box.public})
    with pytest.raises(PeerError):
        joining.read_request(joining.REQUEST_MAGIC + sign.sign(raw) + raw)


def test_signature_from_one_request_on_another_body_is_refused(
    sign: crypto.SigningKeyPair, box: crypto.BoxKeyPair
) -> None:
    first = joining.make_request("bob", sign, box.public)
    second = joining.make_request("mallory", sign, box.public)
    spliced = first[:BODY_START] + second[BODY_START:]
    with pytest.raises(PeerError):
        joining.read_request(spliced)


@pytest.mark.parametrize(
    "change",
    [
        {"extra": 1},
        {"user": None},
        {"user": b"bob"},
        {"user": ""},
        {"user": " bob"},
        {"user": "bob\n"},
        {"user": "b" * (tokens.MAX_NAME + 1)},
        {"user": "Zoe\u0308"},
        {"box_public": b"\x00" * 31},
        {"box_public": "not bytes"},
    ],
    ids=[
        "extra-field",
        "user-missing-value",
        "user-as-bytes",
        "user-empty",
        "user-leading-space",
        "user-control-char",
        "user-too-long",
        "user-not-nfc",
        "box-key-short",
        "box-key-mistyped",
    ],
)
def test_correctly_signed_but_malformed_request_is_refused(
    sign: crypto.SigningKeyPair, box: crypto.BoxKeyPair, change: dict[str, codec.Value]
) -> None:
    body: dict[str, codec.Value] = {
        "user": "bob",
        "sign_public": sign.public,
        "box_public": box.public,
    }
    body.update(change)
    with pytest.raises(PeerError):
        joining.read_request(signed_request(sign, body))


def test_request_missing_a_field_is_refused(sign: crypto.SigningKeyPair) -> None:
    with pytest.raises(PeerError):
        joining.read_request(signed_request(sign, {"user": "bob", "sign_public": sign.public}))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        joining.REQUEST_MAGIC,
        joining.REQUEST_MAGIC + b"\x00" * crypto.SIG_SIZE,
        joining.REQUEST_MAGIC + b"\x00" * 200,
        b"OVREQ2" + b"\x00" * 200,
        b"\xff" * 300,
        joining.WELCOME_MAGIC + codec.encode({}),
        joining.REQUEST_MAGIC + b"\x00" * joining.MAX_REQUEST,
    ],
    ids=[
        "empty",
        "magic-only",
        "signature-but-no-body",
        "zeros",
        "other-version",
        "random",
        "a-welcome",
        "oversized",
    ],
)
def test_garbage_request_is_a_peer_error(data: bytes) -> None:
    with pytest.raises(PeerError):
        joining.read_request(data)


def test_truncated_or_extended_request_is_refused(request_bytes: bytes) -> None:
    for size in range(len(request_bytes)):
        with pytest.raises(PeerError):
            joining.read_request(request_bytes[:size])
    with pytest.raises(PeerError):
        joining.read_request(request_bytes + b"\x00")


def test_oversized_request_is_refused_before_decoding(
    request_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = codec.decode

    def counting(data: bytes) -> codec.Value:
        calls.append(len(data))
        return real(data)

    monkeypatch.setattr(codec, "decode", counting)
    padded = request_bytes + b"\x00" * joining.MAX_REQUEST
    with pytest.raises(PeerError):
        joining.read_request(padded)
    assert calls == []


# -- welcome ------------------------------------------------------------------------------


def test_welcome_round_trip(welcome: Welcome) -> None:
    assert joining.read_welcome(joining.make_welcome(welcome)) == welcome


def test_welcome_with_no_records_round_trips() -> None:
    empty = Welcome("Acme Ltd", b"\x01" * 32, (), b"\x02" * crypto.KEY_SIZE)
    assert joining.read_welcome(joining.make_welcome(empty)) == empty


def test_welcome_from_an_enrolment_carries_the_office(alice: Office) -> None:
    code = alice.invite("bob", Role.MEMBER, 3600, T0)
    request = joining.make_request(
        "bob", crypto.SigningKeyPair.generate(), crypto.BoxKeyPair.generate().public
    )
    welcome = joining.read_welcome(enroll(alice, str(code), request, T0 + 60))
    assert welcome.office_name == "Acme Ltd"
    assert welcome.root_public == alice.root_public
    assert len(welcome.records) == len(alice.store.records())
    assert set(welcome.records) == set(alice.store.records())
    # Its MAC is made with this invite's code, for this request.
    joining.check_welcome(welcome, code.secret, request)
    assert welcome.mac == joining.welcome_mac(code.secret, alice.root_public, request)


def welcome_body(**change: codec.Value) -> bytes:
    body: dict[str, codec.Value] = {
        "office_name": "Acme Ltd",
        "root_public": b"\x01" * 32,
        "records": [b"r1", b"r2"],
        "mac": b"\x02" * crypto.KEY_SIZE,
    }
    body.update(change)
    return joining.WELCOME_MAGIC + codec.encode(body)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        joining.WELCOME_MAGIC,
        b"OVWEL2" + codec.encode({}),
        joining.REQUEST_MAGIC + b"\x00" * 100,
        b"\xff" * 100,
        joining.WELCOME_MAGIC + b"\x07\xff\xff\xff\xff",
        joining.WELCOME_MAGIC + codec.encode([b"r1"]),
        welcome_body() + b"\x00",
        welcome_body(extra=True),
        welcome_body(records=[b"r1", "r2"]),
        welcome_body(records=[b"r1", [b"r2"]]),
        welcome_body(records=b"r1"),
        welcome_body(root_public=b"\x01" * 31),
        welcome_body(root_public=None),
        welcome_body(office_name="x" * 129),
        welcome_body(office_name=b"Acme"),
        welcome_body(mac=b"\x02" * (crypto.KEY_SIZE - 1)),
        welcome_body(mac=b"\x02" * (crypto.KEY_SIZE + 1)),
        welcome_body(mac=None),
        welcome_body(mac="02" * crypto.KEY_SIZE),
    ],
    ids=[
        "empty",
        "magic-only",
        "other-version",
        "a-request",
        "random",
        "huge-map-count",
        "not-a-map",
        "trailing-byte",
        "extra-field",
        "record-not-bytes",
        "record-nested-list",
        "records-not-a-list",
        "root-key-short",
        "root-key-missing-value",
        "office-name-too-long",
        "office-name-as-bytes",
        "mac-short",
        "mac-long",
        "mac-missing-value",
        "mac-as-text",
    ],
)
def test_garbage_welcome_is_a_peer_error(data: bytes) -> None:
    with pytest.raises(PeerError):
        joining.read_welcome(data)


def test_the_unchanged_welcome_body_is_readable() -> None:
    """The garbage cases above fail for their one change, not for something they share."""
    welcome = joining.read_welcome(welcome_body())
    assert welcome == Welcome("Acme Ltd", b"\x01" * 32, (b"r1", b"r2"), b"\x02" * crypto.KEY_SIZE)


@pytest.mark.parametrize("missing", ["office_name", "root_public", "records", "mac"])
def test_welcome_missing_a_field_is_a_peer_error(missing: str) -> None:
    body: dict[str, codec.Value] = {
        "office_name": "Acme",
        "root_public": b"\x01" * 32,
        "records": [],
        "mac": b"\x02" * crypto.KEY_SIZE,
    }
    del body[missing]
    with pytest.raises(PeerError):
        joining.read_welcome(joining.WELCOME_MAGIC + codec.encode(body))


def test_truncated_welcome_is_a_peer_error(welcome: Welcome) -> None:
    data = joining.make_welcome(welcome)
    for size in range(len(data)):
        with pytest.raises(PeerError):
            joining.read_welcome(data[:size])


def test_oversized_welcome_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def counting(data: bytes) -> codec.Value:
        calls.append(len(data))
        return None

    monkeypatch.setattr(codec, "decode", counting)
    big = Welcome("Acme Ltd", b"\x01" * 32, (b"\x00" * joining.MAX_WELCOME,), b"\x02" * 32)
    with pytest.raises(PeerError):
        joining.read_welcome(joining.make_welcome(big))
    assert calls == []


# -- the welcome MAC ------------------------------------------------------------------------
SECRET = b"otter-piano-ember"


class Argon2Calls:
    """Records every Argon2id run (password, salt, cost) and runs it for real."""

    def __init__(self) -> None:
        self.calls: list[tuple[bytes, bytes, int, int]] = []
        self.real = crypto.argon2id

    def __call__(self, password: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytearray:
        self.calls.append((bytes(password), salt, opslimit, memlimit))
        return self.real(password, salt, opslimit, memlimit)


def test_welcome_mac_is_argon2id_interactive_of_the_code_salted_by_the_request(
    request_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = Argon2Calls()
    monkeypatch.setattr(crypto, "argon2id", calls)
    root = b"\x01" * 32
    other_request = joining.make_request(
        "bob", crypto.SigningKeyPair.generate(), crypto.BoxKeyPair.generate().public
    )
    first = joining.welcome_mac(SECRET, root, request_bytes)
    again = joining.welcome_mac(SECRET, root, request_bytes)
    other = joining.welcome_mac(SECRET, root, other_request)
    assert len(first) == crypto.KEY_SIZE
    assert first == again
    assert first != other
    costs = {(ops, mem) for _, _, ops, mem in calls.calls}
    assert costs == {(crypto.ARGON2ID_OPS_INTERACTIVE, crypto.ARGON2ID_MEM_INTERACTIVE)}
    assert [password for password, _, _, _ in calls.calls] == [SECRET] * 3
    salts = [salt for _, salt, _, _ in calls.calls]
    assert salts[0] == salts[1] != salts[2]
    assert len(salts[0]) == crypto.SALT_SIZE


def test_welcome_mac_binds_the_code_the_root_and_the_request(request_bytes: bytes) -> None:
    root = b"\x01" * 32
    mac = joining.welcome_mac(SECRET, root, request_bytes)
    assert mac != joining.welcome_mac(b"otter-piano-emberx", root, request_bytes)
    assert mac != joining.welcome_mac(SECRET, b"\x03" * 32, request_bytes)
    assert mac != joining.welcome_mac(SECRET, root, flip(request_bytes, -1))


def test_check_welcome_accepts_only_the_matching_code_request_and_root(
    request_bytes: bytes,
) -> None:
    root = b"\x01" * 32
    good = Welcome("Acme Ltd", root, (), joining.welcome_mac(SECRET, root, request_bytes))
    joining.check_welcome(good, SECRET, request_bytes)
    other_request = joining.make_request(
        "bob", crypto.SigningKeyPair.generate(), crypto.BoxKeyPair.generate().public
    )
    cases = {
        "wrong-code": (good, b"otter-piano-amber", request_bytes),
        "other-request": (good, SECRET, other_request),
        "root-swapped": (Welcome("Acme Ltd", b"\x03" * 32, (), good.mac), SECRET, request_bytes),
        "mac-flipped": (Welcome("Acme Ltd", root, (), flip(good.mac, 0)), SECRET, request_bytes),
    }
    for name, (welcome, secret, request) in cases.items():
        with pytest.raises(PeerError) as info:
            joining.check_welcome(welcome, secret, request)
        assert "invite code" in str(info.value), name
        assert "\n" not in str(info.value)
