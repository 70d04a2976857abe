"""End-to-end tests of `vault-admin`'s commands that move entries in and out: import,
export and restore-backup.

The office (alice admin, bob member joined by file) and the in-process runner are
tests/clirun.py's; every test works on copies of the data dirs. Import and restore
print progress on stderr ("imported n/total", no terminal), which `progress_ok`
allows besides the test-only warnings.

Threats covered: a member imports, exports or restores (refused); a password reaches
the screen (import and export print none); a plaintext export is readable by other
users or overwrites a file; an encrypted backup holds a secret in the clear or opens
with the wrong password. Not covered: the parsers' and formats' own edge cases
(tests/node/test_importers.py, test_backup.py), and `vault-admin audit`
(tests/admin_tools/test_vault_cli_audit.py).
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from node import exporters, importers
from node.entry_fields import FIELDS
from tests import clirun
from tests.clirun import (
    Device,
    InProcessCli,
    Office,
    Proc,
    build_office,
    error_lines,
    fails,
    ok,
    ok_json,
    snapshot,
    write,
)

FIXTURES = Path(__file__).parents[1] / "node" / "fixtures" / "import"
BACKUP_PASSWORD = "backup password, kept apart"
PROGRESS = "imported {0}/{0}"


def progress_ok(proc: Proc, count: int) -> Proc:
    """Exit 0, and nothing on stderr but the warnings and one progress line (if `count`)."""
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr}"
    assert error_lines(proc) == ([PROGRESS.format(count)] if count else []), proc.stderr
    return proc


def listed(cli: InProcessCli, device: Device) -> list[tuple[str, str, str, str]]:
    """(title, username, url, category) of every entry outside the trash, sorted."""
    shown = ok_json(cli.node("ls", "--json", *device.common))
    return sorted((e["title"], e["username"], e["url"], e["category"]) for e in shown)


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Office:
    return build_office(tmp_path_factory.mktemp("office"), clirun.environment())


@pytest.fixture
def cli(tmp_path: Path, cli_env: dict[str, str]) -> InProcessCli:
    return InProcessCli(tmp_path, cli_env, "vault-admin")


@pytest.fixture
def alice(office: Office, tmp_path: Path) -> Device:
    return office.alice.copy(tmp_path / "A")


@pytest.fixture
def bob(office: Office, tmp_path: Path) -> Device:
    return office.bob.copy(tmp_path / "B")


# -- import ------------------------------------------------------------------------------------
IMPORTS = [
    ("bitwarden.json", "bitwarden-json"),
    ("keepassxc.csv", "keepassxc-csv"),
    ("1password.csv", "1password-csv"),
    ("simple.csv", "csv"),
    ("simple-bom.csv", "csv"),
]
# Passwords of the fixtures' bad rows: a refused row is named by its place, never its values.
BAD_ROW_SECRETS = (
    "NoName-Pa55word", "short-row-secret", "untitled-secret", "ghost-Pa55", "0ld-P0rtal-pw",
    "unclosed-quote-secret", "LpLpLpLp", "row-secret-value",
)  # fmt: skip


@pytest.mark.parametrize(("name", "fmt"), IMPORTS, ids=[i[0] for i in IMPORTS])
def test_import_adds_the_good_rows_and_lists_the_bad_ones(
    cli: InProcessCli, alice: Device, name: str, fmt: str
) -> None:
    path = FIXTURES / name
    rows, bad = importers.parse(path.read_bytes(), fmt)
    assert rows, "each fixture has rows to import"
    proc = progress_ok(cli("import", path, "--format", fmt, *alice.common), len(rows))
    expected = [f"Imported {len(rows)} entr{'y' if len(rows) == 1 else 'ies'} from {path}."]
    if bad:
        expected.append(f"{len(bad)} row(s) were not imported:")
        expected += [f"  {row.where}: {row.reason}" for row in bad]
    assert proc.stdout.splitlines() == expected
    for secret in (*BAD_ROW_SECRETS, *(r.fields["password"] for r in rows if r.fields["password"])):
        assert secret not in proc.stdout + proc.stderr

    fields = ("title", "username", "url", "category")
    assert listed(cli, alice) == sorted(tuple(r.fields[f] for f in fields) for r in rows)
    assert {e["created_by"] for e in ok_json(cli.node("ls", "--json", *alice.common))} == {"alice"}


def test_import_of_only_bad_rows_exits_1_and_adds_nothing(
    cli: InProcessCli, alice: Device, tmp_path: Path
) -> None:
    path = write(tmp_path / "bad.csv", "title,password\n,no-title-secret\nx,y,z\n")
    proc = cli("import", path, "--format", "csv", *alice.common)
    assert proc.returncode == 1
    assert error_lines(proc) == []
    assert proc.stdout.splitlines() == [
        f"Imported 0 entries from {path}.",
        "2 row(s) were not imported:",
        "  line 2: no title",
        "  line 3: wrong number of columns (3, expected 2)",
    ]
    assert listed(cli, alice) == []


def test_a_member_cannot_import(cli: InProcessCli, bob: Device) -> None:
    size, before = bob.op_log_size(), snapshot(bob.path)
    fails(cli("import", FIXTURES / "simple.csv", "--format", "csv", *bob.common),
          "only an admin can import entries")  # fmt: skip
    assert bob.op_log_size() == size
    assert snapshot(bob.path) == before


LEAKY = "leaky-Secret-42"  # in files whose error message must quote nothing
IMPORT_ERRORS: list[tuple[str, bytes | None, str, str, int]] = [
    ("missing-file", None, "csv", "cannot read the import file", 1),
    ("unknown-format", b"title\nx\n", "lastpass-csv", "invalid choice", 2),
    ("empty-file", b"", "csv", "the file is empty", 1),
    ("only-blank-lines", b"\r\n  \r\n", "keepassxc-csv", "the file is empty", 1),
    ("binary-garbage", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xd8" + LEAKY.encode(), "csv",
     "not UTF-8", 1),
    ("utf-16", "title,password\nMail,leaky-Secret-42\n".encode("utf-16"), "csv", "UTF-16", 1),
    ("json-garbage", b'{"items": [' + LEAKY.encode(), "bitwarden-json", "not valid JSON", 1),
    ("json-not-bitwarden", b'["leaky-Secret-42"]', "bitwarden-json", "not a Bitwarden export", 1),
    ("bitwarden-encrypted", b'{"encrypted": true, "data": "leaky-Secret-42"}', "bitwarden-json",
     "encrypted Bitwarden export", 1),
    ("csv-without-header", b"Mail,alice,leaky-Secret-42\r\n", "csv", "not a CSV header", 1),
    ("keepassxc-without-header", b'"Root","Mail","alice","leaky-Secret-42"\n', "keepassxc-csv",
     "not a KeePassXC CSV header", 1),
    ("bitwarden-as-1password", (FIXTURES / "bitwarden.json").read_bytes(), "1password-csv",
     "not a 1Password CSV header", 1),
    ("header-names-title-twice", b"title,Title\nx,leaky-Secret-42\n", "csv",
     "names the title column twice", 1),
]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "fmt", "fragment", "code"),
    [c[1:] for c in IMPORT_ERRORS],
    ids=[c[0] for c in IMPORT_ERRORS],
)
def test_an_unreadable_import_file_is_a_one_line_error(
    cli: InProcessCli,
    alice: Device,
    tmp_path: Path,
    content: bytes | None,
    fmt: str,
    fragment: str,
    code: int,
) -> None:
    """Threat: a file exported without a header, whose first row (secrets) the message
    quotes; the error names positions and columns, never a value."""
    path = tmp_path / "export.file"
    if content is not None:
        path.write_bytes(content)
    before = snapshot(alice.path)
    line = fails(cli("import", path, "--format", fmt, *alice.common), fragment, code)
    assert LEAKY not in line
    assert snapshot(alice.path) == before


# -- export ------------------------------------------------------------------------------------
ENTRIES: list[dict[str, str]] = [
    {"title": "Mail", "username": "alice@acme.example", "password": 'p,w "quoted"\n2nd line',
     "url": "https://mail.acme.example", "category": "Work", "notes": "line one\nline two"},
    {"title": "Zürich bank", "username": "", "password": "pässwörd-ß-€-🔑", "url": "",
     "category": "Finance", "notes": ""},
    {"title": "=HYPERLINK(\"x\")", "username": "@admin", "password": "=1+2", "url": "",
     "category": "General", "notes": "-starts with a dash"},
]  # fmt: skip


def stock(cli: InProcessCli, device: Device) -> None:
    """Add ENTRIES to `device` (values as `--name=value`, so a leading dash is a value)."""
    for entry in ENTRIES:
        values = [f"--{k}={v}" for k, v in entry.items() if k != "password"]
        ok(cli.node("add", *values, "--password-stdin", *device.common,
                    stdin=entry["password"].encode()))  # fmt: skip


def as_rows(entries: list[dict[str, str]]) -> list[tuple[str, ...]]:
    return sorted(tuple(e[f] for f in FIELDS) for e in entries)


@pytest.mark.parametrize("fmt", exporters.EXPORT_FORMATS)
def test_export_round_trips_through_the_importer(
    cli: InProcessCli, alice: Device, tmp_path: Path, fmt: str
) -> None:
    """The plaintext export reads back to the same fields; it is private to its owner."""
    stock(cli, alice)
    out = tmp_path / f"export.{fmt}"
    proc = ok(cli("export", "--format", fmt, "--out", out, *alice.common))
    assert proc.stdout.startswith(f"Exported 3 entries to {out}.\n")
    assert "in the clear" in proc.stdout
    for entry in ENTRIES:
        assert entry["password"] not in proc.stdout + proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) & 0o077 == 0

    rows, bad = importers.parse(out.read_bytes(), fmt)
    assert bad == []
    expected = ENTRIES
    if fmt == "csv":  # documented: a value a spreadsheet would run comes back with a ' in front
        expected = [{k: exporters.defuse_formula(v) for k, v in e.items()} for e in ENTRIES]
        assert expected != ENTRIES
    assert as_rows([r.fields for r in rows]) == as_rows(expected)


def test_export_leaves_out_the_trash(cli: InProcessCli, alice: Device, tmp_path: Path) -> None:
    stock(cli, alice)
    trashed = next(
        e for e in ok_json(cli.node("ls", "--json", *alice.common)) if e["title"] == "Mail"
    )
    ok(cli.node("rm", trashed["id"], *alice.common))
    ok(cli("export", "--format", "bitwarden-json", "--out", "out.json", *alice.common))
    rows, _ = importers.parse((tmp_path / "out.json").read_bytes(), "bitwarden-json")
    assert sorted(r.fields["title"] for r in rows) == ['=HYPERLINK("x")', "Zürich bank"]


@pytest.mark.parametrize("fmt", [*exporters.EXPORT_FORMATS, "encrypted-backup"])
def test_export_refuses_an_existing_file(
    cli: InProcessCli, alice: Device, tmp_path: Path, fmt: str
) -> None:
    stock(cli, alice)
    out = write(tmp_path / "taken", "keep me\n")
    bpw = write(tmp_path / "backup.pw", BACKUP_PASSWORD + "\n")
    fails(cli("export", "--format", fmt, "--out", out, "--backup-password-file", bpw,
              *alice.common), "exists; choose a new file name")  # fmt: skip
    assert out.read_text() == "keep me\n"


EXPORT_ERRORS: list[tuple[str, tuple[str, ...], str, int]] = [
    ("backup-password-too-short", ("--format", "encrypted-backup", "--backup-password-file",
                                   "{short}"), "at least 8 characters", 1),
    ("backup-password-file-missing", ("--format", "encrypted-backup", "--backup-password-file",
                                      "{nowhere}"), "cannot read the backup password file", 1),
    ("unknown-format", ("--format", "xlsx"), "invalid choice", 2),
    ("folder-missing", ("--format", "csv", "--out", "{nowhere}/out.csv"), "cannot write", 1),
]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "fragment", "code"), [c[1:] for c in EXPORT_ERRORS], ids=[c[0] for c in EXPORT_ERRORS]
)
def test_a_failed_export_writes_no_file(
    cli: InProcessCli,
    alice: Device,
    tmp_path: Path,
    args: tuple[str, ...],
    fragment: str,
    code: int,
) -> None:
    stock(cli, alice)
    places = {"short": str(write(tmp_path / "short.pw", "1234567\n")),
              "nowhere": str(tmp_path / "nowhere")}  # fmt: skip
    argv = [a.format(**places) for a in args]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out.file")]
    before = sorted(p.name for p in tmp_path.iterdir())
    fails(cli("export", *argv, *alice.common), fragment, code)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("fmt", [*exporters.EXPORT_FORMATS, "encrypted-backup"])
def test_a_member_cannot_export(cli: InProcessCli, bob: Device, tmp_path: Path, fmt: str) -> None:
    bpw = write(tmp_path / "backup.pw", BACKUP_PASSWORD + "\n")
    fails(cli("export", "--format", fmt, "--out", "out.file", "--backup-password-file", bpw,
              *bob.common), "only an admin can export the vault")  # fmt: skip
    assert not (tmp_path / "out.file").exists()


# -- encrypted backup --------------------------------------------------------------------------
@dataclass(frozen=True)
class Backup:
    file: Path
    pw: Path
    fresh: Device  # a new office, made with `vault-admin init`, holding no entries


@pytest.fixture
def backup(cli: InProcessCli, alice: Device, tmp_path: Path) -> Backup:
    stock(cli, alice)
    bpw = write(tmp_path / "backup.pw", BACKUP_PASSWORD + "\n")
    ok(cli("export", "--format", "encrypted-backup", "--out", "office.ovbk",
           "--backup-password-file", bpw, *alice.common))  # fmt: skip
    fresh = Device(tmp_path / "F", write(tmp_path / "erin.pw", "erin's new password\n"))
    ok(cli("init", "--office", "Acme Ltd (rebuilt)", "--admin", "erin", "--kit", "erin.ovkit",
           *fresh.common))  # fmt: skip
    return Backup(tmp_path / "office.ovbk", bpw, fresh)


def test_a_backup_holds_no_secret_in_the_clear(backup: Backup) -> None:
    """Threat: someone who copies the backup file reads the office's passwords."""
    data = backup.file.read_bytes()
    assert data.startswith(b"OVBK")
    for entry in ENTRIES:
        for value in entry.values():
            if len(value) >= 4:
                assert value.encode() not in data


def test_restore_backup_into_a_fresh_office_restores_every_entry(
    cli: InProcessCli, alice: Device, backup: Backup, tmp_path: Path
) -> None:
    restore = ("restore-backup", backup.file, "--backup-password-file", backup.pw)
    proc = progress_ok(cli(*restore, *backup.fresh.common), 3)
    assert proc.stdout == "Backup of Acme Ltd: 3 entries; restored 3, 0 already here.\n"
    assert listed(cli, backup.fresh) == listed(cli, alice)
    ok(cli("export", "--format", "bitwarden-json", "--out", "check.json", *backup.fresh.common))
    rows, _ = importers.parse((tmp_path / "check.json").read_bytes(), "bitwarden-json")
    assert as_rows([r.fields for r in rows]) == as_rows(ENTRIES)

    ids = ok(cli.node("ls", "--json", *backup.fresh.common)).stdout
    again = progress_ok(cli(*restore, *backup.fresh.common), 0)
    assert again.stdout == "Backup of Acme Ltd: 3 entries; restored 0, 3 already here.\n"
    assert ok(cli.node("ls", "--json", *backup.fresh.common)).stdout == ids


def test_restore_backup_adds_only_what_is_missing(
    cli: InProcessCli, alice: Device, backup: Backup
) -> None:
    gone = next(e for e in ok_json(cli.node("ls", "--json", *alice.common)) if e["title"] == "Mail")
    ok(cli.node("rm", gone["id"], *alice.common))
    proc = progress_ok(cli("restore-backup", backup.file, "--backup-password-file", backup.pw,
                           *alice.common), 1)  # fmt: skip
    assert proc.stdout == "Backup of Acme Ltd: 3 entries; restored 1, 2 already here.\n"
    assert sorted(t for t, *_ in listed(cli, alice)) == sorted(e["title"] for e in ENTRIES)


RESTORE_ERRORS: list[tuple[str, str, str, str]] = [
    ("wrong-password", "{backup}", "{wrong}", "wrong password for this backup"),
    ("altered-file", "{altered}", "{bpw}", "wrong password for this backup, or the file was"),
    ("truncated-file", "{truncated}", "{bpw}", "truncated"),
    ("not-a-backup", "{csv}", "{bpw}", "not an OfficeVault backup file"),
    ("missing-file", "{nowhere}", "{bpw}", "cannot read the backup file"),
    ("password-file-missing", "{backup}", "{nowhere}", "cannot read the backup password file"),
    ("password-file-empty", "{backup}", "{empty}", "is empty"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("source", "password", "fragment"),
    [c[1:] for c in RESTORE_ERRORS],
    ids=[c[0] for c in RESTORE_ERRORS],
)
def test_a_failed_restore_is_one_line_and_changes_nothing(
    cli: InProcessCli, backup: Backup, tmp_path: Path, source: str, password: str, fragment: str
) -> None:
    data = backup.file.read_bytes()
    altered = bytearray(data)
    altered[-20] ^= 0x01
    places = {
        "backup": str(backup.file),
        "bpw": str(backup.pw),
        "wrong": str(write(tmp_path / "wrong.pw", "not the backup password\n")),
        "empty": str(write(tmp_path / "empty.pw", "")),
        "altered": str(write_bytes(tmp_path / "altered.ovbk", bytes(altered))),
        "truncated": str(write_bytes(tmp_path / "truncated.ovbk", data[:40])),
        "csv": str(write(tmp_path / "plain.csv", "title,password\nMail,pw\n")),
        "nowhere": str(tmp_path / "nowhere"),
    }
    ok(cli.node("ls", *backup.fresh.common))  # the first open writes its caches
    before = snapshot(backup.fresh.path)
    fails(cli("restore-backup", source.format(**places), "--backup-password-file",
              password.format(**places), *backup.fresh.common), fragment)  # fmt: skip
    assert snapshot(backup.fresh.path) == before


@pytest.mark.parametrize(
    "command",
    [("export", "--format", "encrypted-backup", "--out", "new.ovbk"),
     ("restore-backup", "{backup}")],
    ids=["export", "restore-backup"],
)  # fmt: skip
def test_no_terminal_hint_names_the_backup_password_option(
    cli: InProcessCli, backup: Backup, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """--password-file is given (it unlocks the vault): the hint must name the option for
    the backup's own password, or the user is sent round in a circle."""
    argv = [a.format(backup=backup.file) for a in command]
    line = fails(cli(*argv, *backup.fresh.common), "no terminal")
    assert "--backup-password-file" in line
    assert not (tmp_path / "new.ovbk").exists()


def test_a_member_cannot_restore_a_backup(cli: InProcessCli, backup: Backup, bob: Device) -> None:
    size = bob.op_log_size()
    fails(cli("restore-backup", backup.file, "--backup-password-file", backup.pw, *bob.common),
          "only an admin can restore a backup")  # fmt: skip
    assert bob.op_log_size() == size


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
