"""node.onboarding: founding, recovering and joining an office, through the API.

Threats covered: a welcome file travels on a USB stick, so whoever handles
it may swap it. `accept_welcome` checks its MAC (keyed by the invite code,
bound to this PC's own request) before it pins anything: a wrong code, an
unreadable code, a welcome made for another PC, and a welcome forged with
another office's root all leave the device's files byte-identical, and the
right code still works afterwards. Crash safety: init, recover and request
write the keystore last (it marks a finished device); a data dir holding a
vault.db without a keystore (an interrupted setup) is refused with a hint;
a failure part-way leaves no files behind, not even the recovery kit. A
recovered admin device is enrolled by the root with its own signed request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from node import crypto, files, joining, keystore, onboarding, records, tokens
from node.datadir import DATABASE, KEYSTORE, RECOVERY_KIT
from node.errors import InviteError, PeerError, StorageError, UserError
from node.invites import InviteCode
from node.joining import JoinRequest, Welcome
from node.keystore import KdfProfile
from node.office import Office
from node.records import Enroll
from node.store import Store
from node.tokens import Role
from node.wordlist import WORDS
from tests.conftest import PASSWORD, T0

HOUR = 3600
BOB_PASSWORD = "bob's own password"


def pw(text: str = PASSWORD) -> bytearray:
    return bytearray(text.encode())


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def enroll(office: Office, code: InviteCode | str, request: bytes, now: int) -> bytes:
    delivered: list[bytes] = []
    office.enroll(str(code), request, now, delivered.append)
    assert len(delivered) == 1
    return delivered[0]


def new_pc(path: Path, user: str, profile: KdfProfile) -> bytes:
    """`officevault request`: a new device at `path`; returns its join request."""
    requests: list[bytes] = []
    onboarding.new_device(path, user, pw(BOB_PASSWORD), profile, requests.append)
    return requests[0]


def other_words(code: InviteCode) -> InviteCode:
    first = WORDS[(WORDS.index(code.words[0]) + 1) % len(WORDS)]
    return InviteCode(code.nameplate, (first, *code.words[1:]))


@dataclass(frozen=True)
class Pending:
    """Bob's PC after `request`, with the welcome and the code his admin gave him."""

    path: Path
    request: bytes
    code: InviteCode
    welcome: bytes

    def accept(self, welcome: bytes, code_text: str) -> Office:
        return onboarding.accept_welcome(
            self.path, pw(BOB_PASSWORD), keystore.INSECURE_TEST, welcome, code_text
        )


@pytest.fixture
def bob(alice: Office, tmp_path: Path, fast_kdf: KdfProfile) -> Pending:
    code = alice.invite("bob", Role.MEMBER, HOUR, T0)
    request = new_pc(tmp_path / "bob", "bob", fast_kdf)
    return Pending(tmp_path / "bob", request, code, enroll(alice, code, request, T0 + 60))


@pytest.fixture
def mallory(tmp_path: Path, fast_kdf: KdfProfile) -> Iterator[Office]:
    """An attacker's own office, with its own root key, under the same office name."""
    created = onboarding.create_office(
        tmp_path / "mallory", "Acme Ltd", "mallory", pw(), T0, fast_kdf
    )
    yield created.office
    created.office.close()


def forged_welcome(attacker: Office, request: bytes, mac: bytes) -> bytes:
    """A welcome that really enrols `request`'s device, but in the attacker's office."""
    enrol = attacker.admit(request, Role.ADMIN, T0 + 60, None)
    everything = (*attacker.store.records(), enrol)
    return joining.make_welcome(Welcome("Acme Ltd", attacker.root_public, everything, mac))


# -- accept: the welcome MAC ------------------------------------------------------------
@pytest.mark.parametrize("typed", ["as-printed", "loosely"])
def test_accept_with_the_right_code_joins(alice: Office, bob: Pending, typed: str) -> None:
    text = str(bob.code) if typed == "as-printed" else str(bob.code).upper().replace("-", "  ")
    with bob.accept(bob.welcome, text) as office:
        assert office.root_public == alice.root_public
        assert office.member is not None
        assert (office.member.user, office.member.role) == ("bob", Role.MEMBER)
        assert office.verify(T0 + 60) == []


def test_wrong_code_is_refused_without_a_change_and_the_right_one_then_works(
    bob: Pending,
) -> None:
    before = snapshot(bob.path)
    for wrong in (other_words(bob.code), InviteCode(bob.code.nameplate, bob.code.words[::-1])):
        if wrong.words == bob.code.words:
            continue
        with pytest.raises(PeerError, match="invite code"):
            bob.accept(bob.welcome, " ".join([str(wrong.nameplate), *wrong.words]))
        assert snapshot(bob.path) == before
    with bob.accept(bob.welcome, str(bob.code)) as office:
        assert office.member is not None


@pytest.mark.parametrize(
    "text",
    ["", "hello", "42-otter", "42-otter-piano-ember-extra", "x-otter-piano-ember", "0-a-b-c"],
)
def test_unreadable_code_is_refused_before_the_device_is_opened(
    bob: Pending, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_open(*args: object) -> None:
        raise AssertionError("the keystore was opened for an unreadable code")

    monkeypatch.setattr(keystore, "read", must_not_open)
    before = snapshot(bob.path)
    with pytest.raises(InviteError):
        bob.accept(bob.welcome, text)
    assert snapshot(bob.path) == before


def test_welcome_made_for_another_pc_is_refused(
    bob: Pending, tmp_path: Path, fast_kdf: KdfProfile
) -> None:
    """Bob's welcome and code, handed to another PC that also asked to join as bob."""
    other = tmp_path / "other"
    new_pc(other, "bob", fast_kdf)
    before = snapshot(other)
    with pytest.raises(PeerError, match="another PC"):
        Pending(other, b"", bob.code, b"").accept(bob.welcome, str(bob.code))
    assert snapshot(other) == before


@pytest.mark.parametrize("mac", ["genuine-mac-copied", "guessed-code", "zeros"])
def test_forged_welcome_for_the_victims_request_is_refused(
    bob: Pending, mallory: Office, mac: str
) -> None:
    """Mallory intercepts bob's request and answers it with her own office's root.

    Her records really enrol bob's device, so only the MAC (she lacks the
    code) stands between bob's PC and pinning her root.
    """
    macs = {
        "genuine-mac-copied": joining.read_welcome(bob.welcome).mac,
        "guessed-code": joining.welcome_mac(
            other_words(bob.code).secret, mallory.root_public, bob.request
        ),
        "zeros": bytes(crypto.KEY_SIZE),
    }
    database = (bob.path / DATABASE).read_bytes()
    before = snapshot(bob.path)
    with pytest.raises(PeerError, match="invite code"):
        bob.accept(forged_welcome(mallory, bob.request, macs[mac]), str(bob.code))
    assert (bob.path / DATABASE).read_bytes() == database
    assert snapshot(bob.path) == before
    with bob.accept(bob.welcome, str(bob.code)) as office:  # the genuine one still works
        assert office.fingerprint != mallory.fingerprint


def test_forgery_with_the_code_would_pass_so_the_mac_is_what_refuses_it(
    bob: Pending, mallory: Office
) -> None:
    """Control for the test above: the same forgery MACed with bob's code is accepted."""
    mac = joining.welcome_mac(bob.code.secret, mallory.root_public, bob.request)
    with bob.accept(forged_welcome(mallory, bob.request, mac), str(bob.code)) as office:
        assert office.root_public == mallory.root_public


def test_genuine_root_and_mac_with_foreign_records_does_not_enrol(
    bob: Pending, mallory: Office
) -> None:
    """The MAC covers the root; the records must still verify under that root."""
    genuine = joining.read_welcome(bob.welcome)
    foreign = joining.read_welcome(forged_welcome(mallory, bob.request, genuine.mac))
    swapped = Welcome(genuine.office_name, genuine.root_public, foreign.records, genuine.mac)
    before = snapshot(bob.path)
    with pytest.raises(PeerError, match="does not enrol this PC"):
        bob.accept(joining.make_welcome(swapped), str(bob.code))
    assert snapshot(bob.path) == before


def test_welcome_from_another_office_after_joining_is_refused(
    bob: Pending, mallory: Office
) -> None:
    """Even with a MAC made with the right code, a joined PC keeps its pinned root."""
    bob.accept(bob.welcome, str(bob.code)).close()
    before = snapshot(bob.path)
    mac = joining.welcome_mac(bob.code.secret, mallory.root_public, bob.request)
    with pytest.raises(PeerError, match="another office"):
        bob.accept(forged_welcome(mallory, bob.request, mac), str(bob.code))
    assert snapshot(bob.path) == before


# -- crash safety: the keystore last, interrupted setups, nothing left behind ------------
Make = Callable[[Path], object]


@pytest.fixture
def created(tmp_path: Path, fast_kdf: KdfProfile) -> Iterator[onboarding.Created]:
    made = onboarding.create_office(tmp_path / "founder", "Acme Ltd", "alice", pw(), T0, fast_kdf)
    yield made
    made.office.close()


@pytest.fixture
def makers(created: onboarding.Created, fast_kdf: KdfProfile) -> dict[str, Make]:
    """Each way of making a device in a data dir; each closes what it opens."""
    kit = created.kit_path.read_bytes()

    def init(path: Path) -> object:
        made = onboarding.create_office(path, "Beta Ltd", "alice", pw(), T0, fast_kdf)
        made.office.close()
        return made

    def recover(path: Path) -> object:
        office = onboarding.recover_office(
            kit, created.recovery_code, path, "dora", pw(), T0 + 60, fast_kdf
        )
        office.close()
        return office

    def request(path: Path) -> object:
        return new_pc(path, "bob", fast_kdf)

    return {"init": init, "recover": recover, "request": request}


KINDS = ["init", "recover", "request"]


@pytest.mark.parametrize("kind", KINDS)
def test_keystore_is_written_last(
    makers: dict[str, Make], tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the keystore is written, the database already holds all the device needs."""
    path = tmp_path / "new"
    seen: list[tuple[str, int, bytes | None]] = []
    real = files.write_new
    password = pw(BOB_PASSWORD if kind == "request" else PASSWORD)

    def spy(target: Path, data: bytes) -> None:
        count, user = -1, None
        if target.name == KEYSTORE:
            assert not target.exists()
            secrets = keystore.open_sealed(data, password, keystore.INSECURE_TEST)
            with Store.open(path / DATABASE, secrets.db_key) as store:
                count, user = len(store.records()), store.get_meta("user")
        seen.append((target.name, count, user))
        real(target, data)

    monkeypatch.setattr(files, "write_new", spy)
    makers[kind](path)
    expected = {
        "init": [(RECOVERY_KIT, -1, None), (KEYSTORE, 3, b"alice")],  # genesis, enrol, key
        "recover": [(KEYSTORE, 2, b"dora")],  # genesis, enrol
        "request": [(KEYSTORE, 0, b"bob")],
    }
    assert seen == expected[kind]


def interrupted(path: Path, fast_kdf: KdfProfile) -> None:
    """What a crash just before the keystore write leaves: a vault.db and no keystore."""
    new_pc(path, "bob", fast_kdf)
    (path / KEYSTORE).unlink()


@pytest.mark.parametrize("kind", KINDS)
def test_interrupted_setup_is_refused_with_a_hint(
    makers: dict[str, Make], tmp_path: Path, fast_kdf: KdfProfile, kind: str
) -> None:
    path = tmp_path / "new"
    interrupted(path, fast_kdf)
    before = snapshot(path)
    with pytest.raises(StorageError) as info:
        makers[kind](path)
    message = str(info.value)
    assert "delete vault.db" in message
    assert "\n" not in message
    assert snapshot(path) == before
    (path / DATABASE).unlink()  # as the message says: then it works
    makers[kind](path)
    assert (path / KEYSTORE).is_file()


@pytest.mark.parametrize("kind", KINDS)
def test_failure_at_the_last_step_leaves_nothing_behind(
    makers: dict[str, Make], tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "new"
    real = files.write_new

    def keystore_fails(target: Path, data: bytes) -> None:
        if target.name == KEYSTORE:
            raise StorageError("disk full")
        real(target, data)

    monkeypatch.setattr(files, "write_new", keystore_fails)
    with pytest.raises(StorageError, match="disk full"):
        makers[kind](path)
    assert list(path.iterdir()) == [], "a half-made device or its kit was left behind"
    monkeypatch.setattr(files, "write_new", real)
    makers[kind](path)  # and a retry works


def test_init_whose_kit_cannot_be_written_leaves_nothing(
    tmp_path: Path, fast_kdf: KdfProfile
) -> None:
    path, kit = tmp_path / "new", tmp_path / "no-such-dir" / "kit.ovkit"
    with pytest.raises(StorageError):
        onboarding.create_office(path, "Beta Ltd", "alice", pw(), T0, fast_kdf, kit)
    assert list(path.iterdir()) == []
    assert not kit.parent.exists()
    onboarding.create_office(path, "Beta Ltd", "alice", pw(), T0, fast_kdf).office.close()


def test_init_never_overwrites_a_kit(tmp_path: Path, fast_kdf: KdfProfile) -> None:
    kit = tmp_path / "kit.ovkit"
    kit.write_bytes(b"an older office's kit")
    with pytest.raises(StorageError, match="already exists"):
        onboarding.create_office(tmp_path / "new", "Beta Ltd", "alice", pw(), T0, fast_kdf, kit)
    assert kit.read_bytes() == b"an older office's kit"
    assert not (tmp_path / "new" / DATABASE).exists()


@pytest.mark.parametrize("name", ["Zoe\u0308", " bob", ""], ids=["not-nfc", "edge-space", "empty"])
@pytest.mark.parametrize("kind", KINDS)
def test_invalid_user_name_makes_no_device(
    created: onboarding.Created, tmp_path: Path, fast_kdf: KdfProfile, kind: str, name: str
) -> None:
    path = tmp_path / "new"
    kit = created.kit_path.read_bytes()
    make: dict[str, Callable[[], object]] = {
        "init": lambda: onboarding.create_office(path, "Beta Ltd", name, pw(), T0, fast_kdf),
        "recover": lambda: onboarding.recover_office(
            kit, created.recovery_code, path, name, pw(), T0, fast_kdf
        ),
        "request": lambda: new_pc(path, name, fast_kdf),
    }
    with pytest.raises(UserError, match="invalid user name"):
        make[kind]()
    assert not path.exists() or list(path.iterdir()) == []


# -- recover: the new admin device is enrolled by the root, with its own request ---------
def test_recovered_admin_is_enrolled_by_the_root_with_its_own_request(
    created: onboarding.Created, tmp_path: Path, fast_kdf: KdfProfile
) -> None:
    kit = created.kit_path.read_bytes()
    with onboarding.recover_office(
        kit, created.recovery_code, tmp_path / "dora", "dora", pw(), T0 + 60, fast_kdf
    ) as office:
        me = office.identity
        assert me.root is not None
        assert office.root_public == created.office.root_public
        # Its log is the kit's genesis and its enrolment, both signed by the root.
        log = [
            records.verify(b, office.office_id, office.root_public) for b in office.store.records()
        ]
        assert {r.signer_id for r in log} == {office.office_id}
        enrolments = [r.payload for r in log if isinstance(r.payload, Enroll)]
        [enrol] = [e for e in enrolments if tokens.subject_of(e.token) == me.device_id]
        assert joining.read_request(enrol.request) == JoinRequest(
            "dora", me.sign.public, me.box.public
        )
        assert office.member is not None
        assert (office.member.user, office.member.role) == ("dora", Role.ADMIN)
        assert office.verify(T0 + 60) == []
        # It holds the root: it can invite an admin, which only the root may do.
        office.invite("erin", Role.ADMIN, HOUR, T0 + 120)
