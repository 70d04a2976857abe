"""node.office: revoking one device, who may revoke whom, and user names.

Threats covered: a lost PC is shut out alone (`revoke USER --device PREFIX`)
while its owner keeps working on their other PCs; a prefix that is too short,
unknown, another person's or ambiguous names no device and changes nothing;
a PC cannot revoke itself, and revoking the last admin is refused (that is
said first, whichever PC asks); only the office root revokes an admin device, so
an admin PC without the root key cannot lock another admin out; an admin
with two devices may lose one. User names are Unicode NFC, and an invite
whose name differs from an existing user's only by case is refused, so one
person cannot appear as two look-alike users.

One office is built per module (alice's root PC A1 and her second admin PC
A2, bob with two devices whose ids share their first 6 hex digits, carol a
member, and "Straße"); each test opens private copies of the data dirs. The
last section drives the same through `vault-admin` (one stderr line, exit 1,
no traceback, data unchanged).
"""

from __future__ import annotations

import contextlib
import shutil
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from node import crypto, joining, keystore, onboarding, records, tokens
from node.errors import NotFoundError, PermissionDeniedError, UserError
from node.office import Office
from node.records import Revoke, Rotate
from node.tokens import Role
from tests import clirun
from tests.conftest import PASSWORD, T0

HOUR = 3600
NOW = T0 + 1000
PROFILE = keystore.INSECURE_TEST
# Two Ed25519 seeds whose device ids share their first 6 hex digits (found by search).
SEEDS = (4993, 7563)


def pw() -> bytearray:
    return bytearray(PASSWORD.encode())


def enroll(office: Office, code: object, request: bytes, now: int) -> bytes:
    delivered: list[bytes] = []
    office.enroll(str(code), request, now, delivered.append)
    return delivered[0]


def join(office: Office, path: Path, user: str, role: Role, now: int) -> bytes:
    """A real PC at `path` for `user`, enrolled and accepted; returns its device id."""
    code = office.invite(user, role, HOUR, now)
    requests: list[bytes] = []
    onboarding.new_device(path, user, pw(), PROFILE, requests.append)
    welcome = enroll(office, code, requests[0], now + 1)
    with onboarding.accept_welcome(path, pw(), PROFILE, welcome, str(code)) as joined:
        return joined.identity.device_id


def enrol_keys(office: Office, user: str, seed: int, now: int) -> bytes:
    """Enrol a device with fixed keys (no PC needed); returns its device id."""
    sign = crypto.SigningKeyPair.from_seed(seed.to_bytes(32, "big"))
    code = office.invite(user, Role.MEMBER, HOUR, now)
    enroll(office, code, joining.make_request(user, sign, crypto.BoxKeyPair.generate().public), now)
    return tokens.device_id_of(sign.public)


@dataclass(frozen=True)
class Base:
    root: Path
    a1: str
    a2: str
    bob1: str
    bob2: str
    carol: str


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    root = tmp_path_factory.mktemp("office")
    with onboarding.create_office(root / "A1", "Acme Ltd", "alice", pw(), T0, PROFILE).office as a1:
        bob1 = enrol_keys(a1, "bob", SEEDS[0], T0 + 10)
        bob2 = enrol_keys(a1, "bob", SEEDS[1], T0 + 20)
        enrol_keys(a1, "Straße", 1, T0 + 30)
        carol = join(a1, root / "C", "carol", Role.MEMBER, T0 + 40)
        a2 = join(a1, root / "A2", "alice", Role.ADMIN, T0 + 50)  # last: A2 knows everything
        a1_id = a1.identity.device_id
    return Base(root, a1_id.hex(), a2.hex(), bob1.hex(), bob2.hex(), carol.hex())


Opener = Callable[[str], Office]


@pytest.fixture
def open_copy(base: Base, tmp_path: Path) -> Iterator[Opener]:
    """Unlock a private copy of one of the module's data dirs ("A1", "A2", "C")."""
    opened: list[Office] = []

    def opener(name: str) -> Office:
        path = Path(shutil.copytree(base.root / name, tmp_path / name))
        opened.append(Office.unlock(path, pw(), PROFILE))
        return opened[-1]

    yield opener
    for office in opened:
        office.close()


def active(office: Office, user: str) -> list[str]:
    return sorted(m.device_id.hex() for v in office.users() if v.user == user for m in v.devices)


def new_records(office: Office, before: list[bytes]) -> list[records.Record]:
    blobs = [b for b in office.store.records() if b not in before]
    return [office._cache[records.record_id(b)] for b in blobs]


def test_the_module_office_is_as_described(base: Base, open_copy: Opener) -> None:
    assert base.bob1[:6] == base.bob2[:6]
    assert base.bob1[:7] != base.bob2[:7]
    a1 = open_copy("A1")
    assert active(a1, "alice") == sorted([base.a1, base.a2])
    assert active(a1, "bob") == sorted([base.bob1, base.bob2])
    assert {m.role for m in a1.membership.state.admins()} == {Role.ADMIN}
    assert len(a1.membership.state.admins()) == 2
    assert open_copy("A2").store.records() == a1.store.records()


# -- revoke one device ----------------------------------------------------------------
@pytest.mark.parametrize("prefix", [7, 12, 32, -7], ids=["7", "12", "whole-id", "7-upper-case"])
def test_revoke_one_device_by_its_id_prefix(base: Base, open_copy: Opener, prefix: int) -> None:
    a1 = open_copy("A1")
    text = base.bob1[: abs(prefix)]
    before = a1.store.records()
    assert a1.revoke("bob", NOW, "lost laptop", text.upper() if prefix < 0 else text) == [
        bytes.fromhex(base.bob1)
    ]
    assert active(a1, "bob") == [base.bob2]
    assert bytes.fromhex(base.bob1) in a1.membership.state.revoked
    revoke, rotate = sorted(new_records(a1, before), key=lambda r: r.kind != "revoke")
    assert isinstance(revoke.payload, Revoke)
    assert (revoke.payload.device_id.hex(), revoke.payload.reason) == (base.bob1, "lost laptop")
    assert revoke.signer_id == a1.identity.device_id  # a member: the admin device signs
    # The vault key moved on, sealed to bob's other device but not the lost one.
    assert isinstance(rotate.payload, Rotate)
    current = a1.membership.state.current_key()
    assert current is not None
    assert current.key_id == rotate.payload.key_id
    sealed_to = {d.hex() for d in current.sealed}
    assert base.bob2 in sealed_to
    assert base.bob1 not in sealed_to
    assert a1.verify(NOW) == []


def test_revoke_without_a_device_revokes_every_device(base: Base, open_copy: Opener) -> None:
    a1 = open_copy("A1")
    revoked = a1.revoke("bob", NOW)
    assert sorted(d.hex() for d in revoked) == sorted([base.bob1, base.bob2])
    assert active(a1, "bob") == []
    assert a1.verify(NOW) == []


PREFIX_CASES: dict[str, Callable[[Base], tuple[str, str]]] = {
    "five-digits-unique": lambda b: ("carol", b.carol[:5]),
    "empty": lambda b: ("carol", ""),
    "ambiguous-six-digits": lambda b: ("bob", b.bob1[:6]),
    "unknown": lambda b: ("bob", next(p for p in ("000000", "111111") if p != b.bob1[:6])),
    "another-users-device": lambda b: ("bob", b.carol),
    "not-hex": lambda b: ("bob", "zzzzzzz"),
    "longer-than-an-id": lambda b: ("bob", b.bob1 + "0"),
}


@pytest.mark.parametrize("case", list(PREFIX_CASES))
def test_a_prefix_that_names_no_single_device_changes_nothing(
    base: Base, open_copy: Opener, case: str
) -> None:
    a1 = open_copy("A1")
    user, prefix = PREFIX_CASES[case](base)
    before = a1.store.records()
    with pytest.raises(NotFoundError) as info:
        a1.revoke(user, NOW, "", prefix)
    message = str(info.value)
    assert f"{user!r}" in message
    assert "at least 6 hex digits" in message
    assert "\n" not in message
    assert a1.store.records() == before


def test_an_already_revoked_device_is_not_found(base: Base, open_copy: Opener) -> None:
    a1 = open_copy("A1")
    a1.revoke("bob", NOW, "", base.bob1[:7])
    before = a1.store.records()
    with pytest.raises(NotFoundError):
        a1.revoke("bob", NOW + 1, "", base.bob1[:7])
    assert a1.store.records() == before


@pytest.mark.parametrize(
    ("pc", "device", "message"),
    [
        ("A1", "a1", "this PC cannot revoke itself"),  # A2 would stay admin
        ("A2", "a2", "this PC cannot revoke itself"),  # A1 would stay admin
        ("A1", None, "alice is the last admin"),  # both of alice's PCs: no admin would stay
        ("A2", None, "alice is the last admin"),
    ],
    ids=["root-pc-by-prefix", "second-pc-by-prefix", "root-pc-whole-user", "second-pc-whole-user"],
)
def test_this_pc_cannot_revoke_itself_nor_the_last_admin(
    base: Base, open_copy: Opener, pc: str, device: str | None, message: str
) -> None:
    """The last-admin check comes first: it names the real problem, whichever PC asks."""
    office = open_copy(pc)
    before = office.store.records()
    prefix = None if device is None else getattr(base, device)[:12]
    with pytest.raises(UserError, match=message) as info:
        office.revoke("alice", NOW, "", prefix)
    assert "\n" not in str(info.value)
    assert office.store.records() == before
    assert active(office, "alice") == sorted([base.a1, base.a2])


def test_an_admin_with_two_devices_can_lose_one(base: Base, open_copy: Opener) -> None:
    """The last-admin rule counts admin devices: alice keeps A1, so A2 may go."""
    a1 = open_copy("A1")
    before = a1.store.records()
    assert a1.revoke("alice", NOW, "stolen", base.a2[:6]) == [bytes.fromhex(base.a2)]
    assert active(a1, "alice") == [base.a1]
    [revoke] = [r for r in new_records(a1, before) if isinstance(r.payload, Revoke)]
    assert revoke.signer_id == a1.office_id  # an admin device: the root signs
    assert a1.verify(NOW) == []


def test_an_admin_pc_without_the_root_cannot_revoke_an_admin(base: Base, open_copy: Opener) -> None:
    a2 = open_copy("A2")
    assert a2.identity.root is None
    before = a2.store.records()
    with pytest.raises(PermissionDeniedError, match="needs the office root key"):
        a2.revoke("alice", NOW, "", base.a1[:6])
    assert a2.store.records() == before
    assert active(a2, "alice") == sorted([base.a1, base.a2])


def test_an_admin_pc_without_the_root_revokes_members(base: Base, open_copy: Opener) -> None:
    a2 = open_copy("A2")
    before = a2.store.records()
    assert a2.revoke("bob", NOW, "", base.bob2[:7]) == [bytes.fromhex(base.bob2)]
    [revoke] = [r for r in new_records(a2, before) if isinstance(r.payload, Revoke)]
    assert revoke.signer_id.hex() == base.a2
    assert active(a2, "bob") == [base.bob1]
    assert a2.verify(NOW) == []


def test_a_member_cannot_revoke(base: Base, open_copy: Opener) -> None:
    carol = open_copy("C")
    before = carol.store.records()
    with pytest.raises(PermissionDeniedError, match="only an admin"):
        carol.revoke("bob", NOW, "", base.bob1[:7])
    assert carol.store.records() == before


# -- user names: NFC, and unique regardless of case ---------------------------------------
@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("Zoë", True),
        ("Zoe\u0308", False),  # e + combining diaeresis
        ("\u00c5sa", True),
        ("A\u030asa", False),
        ("\u212bsa", False),  # the Angstrom sign: NFC makes it U+00C5
        ("\u1100\u1161", False),  # Hangul jamo, composed by NFC
        ("\uac00", True),
        ("ﬁona", True),  # a ligature is NFC (only NFKC would change it)
    ],
)
def test_user_names_must_be_nfc(name: str, valid: bool) -> None:
    assert unicodedata.is_normalized("NFC", name) is valid
    assert tokens.valid_user_name(name) is valid


def test_invite_refuses_a_name_not_in_nfc(open_copy: Opener) -> None:
    a1 = open_copy("A1")
    before = a1.store.records()
    with pytest.raises(UserError, match="invalid user name"):
        a1.invite("Zoe\u0308", Role.MEMBER, HOUR, NOW)
    assert a1.store.records() == before
    a1.invite(unicodedata.normalize("NFC", "Zoe\u0308"), Role.MEMBER, HOUR, NOW)


@pytest.mark.parametrize(
    ("name", "existing"),
    [
        ("Bob", "bob"),
        ("BOB", "bob"),
        ("ALICE", "alice"),
        ("STRASSE", "Straße"),
        ("strasse", "Straße"),
    ],
)
def test_invite_refuses_a_case_variant_of_an_existing_user(
    open_copy: Opener, name: str, existing: str
) -> None:
    a1 = open_copy("A1")
    before = a1.store.records()
    with pytest.raises(UserError) as info:
        a1.invite(name, Role.MEMBER, HOUR, NOW)
    assert f"a user named {existing!r} exists" in str(info.value)
    assert a1.store.records() == before


def test_invite_for_the_exact_name_of_a_user_is_a_new_device(open_copy: Opener) -> None:
    a1 = open_copy("A1")
    for name, role in (("bob", Role.MEMBER), ("Straße", Role.MEMBER), ("alice", Role.ADMIN)):
        a1.invite(name, role, HOUR, NOW)
    a1.invite("bobby", Role.MEMBER, HOUR, NOW)  # similar is fine; only case is folded


def test_two_open_invites_cannot_make_two_users_differing_only_by_case(
    open_copy: Opener,
) -> None:
    """Neither "dave" nor "Dave" exists yet: whichever way, only one of them may end up a user."""
    a1 = open_copy("A1")
    codes = {}
    for name in ("dave", "Dave"):
        with contextlib.suppress(UserError):
            codes[name] = a1.invite(name, Role.MEMBER, HOUR, NOW)
    for name, code in codes.items():
        request = joining.make_request(
            name, crypto.SigningKeyPair.generate(), crypto.BoxKeyPair.generate().public
        )
        with contextlib.suppress(UserError):
            enroll(a1, code, request, NOW + 1)
    folded = [v.user.casefold() for v in a1.users()]
    assert len(folded) == len(set(folded)), [v.user for v in a1.users()]


def test_a_revoked_users_name_still_counts(open_copy: Opener) -> None:
    a1 = open_copy("A1")
    a1.revoke("bob", NOW)
    with pytest.raises(UserError, match="a user named 'bob' exists"):
        a1.invite("Bob", Role.MEMBER, HOUR, NOW + 1)
    a1.invite("bob", Role.MEMBER, HOUR, NOW + 1)  # bob himself may come back


# -- the same through vault-admin ---------------------------------------------------------
def vault_admin(env: dict[str, str], cwd: Path, *args: str | Path) -> clirun.Proc:
    return clirun.run("vault-admin", cwd, env, *args, now=NOW)  # the office lives at T0


def test_vault_admin_users_lists_device_ids_and_revoke_takes_one(
    base: Base, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    a1 = shutil.copytree(base.root / "A1", tmp_path / "A1")
    common = ("--data-dir", a1, "--password-file", write_pw(tmp_path))
    text = clirun.ok(vault_admin(cli_env, tmp_path, "users", *common)).stdout
    [alice_line] = [line for line in text.splitlines() if line.split()[:1] == ["alice"]]
    assert alice_line.split()[1:3] == ["admin", "device(s)"]
    assert sorted(alice_line.split()[3:]) == sorted([base.a1[:12], base.a2[:12]])
    out = clirun.ok(vault_admin(cli_env, tmp_path, "revoke", "alice", "--device",
                                base.a2[:6].upper(), *common)).stdout  # fmt: skip
    assert "Revoked alice (1 device(s))" in out
    users = clirun.ok_json(vault_admin(cli_env, tmp_path, "users", *common, "--json"))
    [alice] = [u for u in users["users"] if u["user"] == "alice"]
    assert (alice["role"], alice["active"]) == ("admin", True)
    assert [d["device"] for d in alice["devices"]] == [base.a1]
    assert alice["revoked_devices"] == [base.a2]
    assert clirun.ok_json(vault_admin(cli_env, tmp_path, "verify", *common, "--json"))["ok"]


CLI_ERRORS: dict[str, tuple[str, Callable[[Base], list[str]], str]] = {
    "admin-pc-without-root-revokes-an-admin": (
        "A2", lambda b: ["revoke", "alice", "--device", b.a1[:8]], "needs the office root key"),
    "own-device": ("A1", lambda b: ["revoke", "alice", "--device", b.a1[:6]],
                   "this PC cannot revoke itself"),
    "own-user": ("A2", lambda b: ["revoke", "alice"], "alice is the last admin"),
    "ambiguous-prefix": ("A1", lambda b: ["revoke", "bob", "--device", b.bob1[:6]],
                         "at least 6 hex digits"),
    "five-digit-prefix": ("A1", lambda b: ["revoke", "carol", "--device", b.carol[:5]],
                          "no single active device of 'carol'"),
    "unknown-prefix": ("A1", lambda b: ["revoke", "carol", "--device", b.a1[:6]],
                       "no single active device of 'carol'"),
    "invite-case-variant": ("A1", lambda b: ["invite", "STRASSE"], "a user named 'Straße' exists"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CLI_ERRORS))
def test_vault_admin_refusal_is_one_line_and_changes_nothing(
    base: Base, tmp_path: Path, cli_env: dict[str, str], case: str
) -> None:
    pc, args, fragment = CLI_ERRORS[case]
    data = Path(shutil.copytree(base.root / pc, tmp_path / pc))
    before = clirun.snapshot(data)
    proc = vault_admin(cli_env, tmp_path, *args(base), "--data-dir", data,
                       "--password-file", write_pw(tmp_path))  # fmt: skip
    assert clirun.fails(proc, fragment).startswith("vault-admin: error: ")
    assert clirun.snapshot(data) == before


def test_vault_admin_on_an_admin_pc_without_root_revokes_a_member_device(
    base: Base, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    a2 = shutil.copytree(base.root / "A2", tmp_path / "A2")
    common = ("--data-dir", a2, "--password-file", write_pw(tmp_path))
    proc = vault_admin(cli_env, tmp_path, "revoke", "bob", "--device", base.bob2[:7], *common)
    out = " ".join(clirun.ok(proc).stdout.split())
    assert "Revoked bob (1 device(s)); every PC that receives this record refuses them." in out


def write_pw(folder: Path) -> Path:
    return clirun.write(folder / "pw", PASSWORD + "\n")
