"""node.importers and node.exporters: export files of other password managers, and ours.

Threats covered: an export file is bytes a user picked, maybe from a stranger
or a broken tool. Whatever it holds, `parse` raises only `UserError` (never a
csv.Error, KeyError, RecursionError or UnicodeError), caps its size and row
count, and accounts for every row: imported or reported, never dropped.
Nothing it reports (a BadRow reason or a file-level message) quotes a value
from the file, since values are passwords and a file without a header puts
secrets where the header should be. The exporter defuses spreadsheet formulas
in CSV, and what it writes reads back to the same fields.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node import exporters, importers
from node.entry_fields import DEFAULT_CATEGORY, FIELDS, MAX_LENGTH, check_fields
from node.errors import UserError
from node.exporters import defuse_formula, export
from node.importers import FORMATS, BadRow, ImportRow, parse

FIXTURES = Path(__file__).parent / "fixtures" / "import"


def entry(title: str, **fields: str) -> dict[str, str]:
    """A complete entry: every field, defaults for those not given."""
    out = dict.fromkeys(FIELDS, "")
    out["category"] = DEFAULT_CATEGORY
    out.update(fields, title=title)
    return out


def row(where: str, title: str, **fields: str) -> ImportRow:
    return ImportRow(where, entry(title, **fields))


# -- the fixtures, one table ----------------------------------------------------------

EXPECTED: list[tuple[str, str, list[ImportRow], list[BadRow]]] = [
    (
        "bitwarden.json",
        "bitwarden-json",
        [
            row(
                "item 1",
                "Company mail",
                username="alice@acme.example",
                password="Tr0ub4dor&3-mail",
                url="https://mail.acme.example",
                category="Work",
            ),
            row(
                "item 2",
                "Bank",
                username="alice.b",
                password="S3cure!Bank#42",
                url="https://bank.example/login",
                category="Personal/Finance",
                notes="Customer number is in the top drawer.\nCall 0800 000 000 if locked out.",
            ),
            row("item 3", "Alarm code", notes="Front door panel: 4815-9162"),
            row("item 6", "Printer admin", username="admin", password="pr1nt3r-Adm1n"),
        ],
        [
            BadRow("item 4", "card items are not supported"),
            BadRow("item 5", "no title"),
            BadRow("item 7", "identity items are not supported"),
        ],
    ),
    (
        "keepassxc.csv",
        "keepassxc-csv",
        [
            row(
                "line 2",
                "Webmail",
                username="alice",
                password="xK9#mP2$vL",
                url="https://webmail.example.com",
                category="Internet",
            ),
            row(
                "line 3",
                "Router",
                username="admin",
                password="R0uter, with comma",
                url="http://192.168.1.1",
                notes="Model AX1800\nIn the server cupboard\nReset pin: 7731",
            ),
            row(
                "line 6",
                "Bank portal",
                username="acme-finance",
                password='B@nk"quoted"pw',
                url="https://bank.example",
                category="Banking",
            ),
            row("line 10", "Door entry", category="Office", notes="Code changes monthly"),
        ],
        [
            BadRow("line 7", "wrong number of columns (5, expected 10)"),
            BadRow("line 9", "no title"),
        ],
    ),
    (
        "1password.csv",
        "1password-csv",
        [
            row(
                "line 2",
                "Slack",
                username="alice@acme.example",
                password="sl4ck-P4ss!",
                url="https://acme.slack.com",
                category="Work",
            ),
            row(
                "line 3",
                "GitHub",
                username="alice-acme",
                password="gh-Secr3t-99",
                url="https://github.com",
                category="Dev",
                notes="Recovery codes are in the safe",
            ),
            row(
                "line 4",
                "Home Wi-Fi",
                password="wifi pass, with comma",
                notes="Router is in the hallway\r\nGuest network: AcmeGuest",
            ),
        ],
        [
            BadRow("line 6", "no title"),
            BadRow("line 7", "wrong number of columns (8, expected 9)"),
        ],
    ),
    (
        "simple.csv",
        "csv",
        [
            row(
                "line 2",
                "Intranet",
                username="alice",
                password="intr4net-Pass",
                url="https://intranet.acme.example",
                category="Work",
            ),
            row(
                "line 3",
                "VPN",
                username="alice",
                password='vpn "quoted" secret',
                url="vpn.acme.example",
                category="Work",
                notes="Use the\nsecond gateway on Fridays",
            ),
            row(
                "line 7",
                "Spaced title",
                username="dave",
                password="  pw with spaces  ",
                url="https://d.example",
            ),
        ],
        [
            BadRow("line 5", "malformed quoting"),
            BadRow("line 6", "field password is longer than 4096 characters"),
            BadRow("line 8", "wrong number of columns (2, expected 6)"),
        ],
    ),
    (
        "simple-bom.csv",
        "csv",
        [row("line 2", "Payroll", password="p4yr0ll-Secret", category="Finance")],
        [],
    ),
]


@pytest.mark.parametrize(("name", "fmt", "rows", "bad"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_fixture_parses_to_exactly_these_rows(
    name: str, fmt: str, rows: list[ImportRow], bad: list[BadRow]
) -> None:
    assert parse((FIXTURES / name).read_bytes(), fmt) == (rows, bad)


def raw_values(name: str) -> Iterator[str]:
    """Every value in a fixture, read by the standard library, headers and keys left out."""
    data = (FIXTURES / name).read_bytes().decode("utf-8-sig")
    if name.endswith(".json"):
        yield from json_strings(json.loads(data))
        return
    for cells in list(csv.reader(io.StringIO(data, newline="")))[1:]:
        yield from cells


def json_strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from json_strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from json_strings(item)


@pytest.mark.parametrize("name", [e[0] for e in EXPECTED if e[3]])
def test_no_reason_quotes_a_value_from_the_file(name: str) -> None:
    """A BadRow reason is shown and maybe logged: it must not carry a secret."""
    fmt = next(e[1] for e in EXPECTED if e[0] == name)
    _, bad = parse((FIXTURES / name).read_bytes(), fmt)
    assert bad
    values = [v for v in raw_values(name) if len(v) >= 4]  # "0" or "true" are not secrets
    assert any("secret" in v.lower() or "pass" in v.lower() for v in values)
    for problem in bad:
        for value in values:
            assert value not in problem.reason, (problem, value)


def test_every_fixture_row_is_accounted_for() -> None:
    """Nothing is dropped silently: data rows in = ImportRows + BadRows out."""
    for name, fmt, _, _ in EXPECTED:
        rows, bad = parse((FIXTURES / name).read_bytes(), fmt)
        if name.endswith(".json"):
            total = len(json.loads((FIXTURES / name).read_bytes())["items"])
        else:
            text = (FIXTURES / name).read_bytes().decode("utf-8-sig")
            total = sum(1 for cells in csv.reader(io.StringIO(text, newline="")) if cells) - 1
        assert len(rows) + len(bad) == total, name


# -- whole-file errors ----------------------------------------------------------------

KEEPASS_ROW_NO_HEADER = (
    b'"Root/Internet","Webmail","alice","xK9#mP2$vL","https://webmail.example.com","","",'
    b'"0","2025-03-01T10:00:00Z","2024-01-15T09:30:00Z"\n'
)
ENCRYPTED_PASSWORD_PROTECTED = (
    b'{"encrypted": true, "passwordProtected": true, "salt": "c2FsdHNhbHQ=", "kdfType": 0,'
    b' "kdfIterations": 600000, "encKeyValidation_DO_NOT_EDIT": "2.AAAA|BBBB|CCCC",'
    b' "data": "2.DDDD|EEEE|FFFF"}'
)
ENCRYPTED_ACCOUNT_KEY = (
    b'{"encrypted": true, "encKeyValidation_DO_NOT_EDIT": "2.AAAA|BBBB|CCCC",'
    b' "folders": [{"id": "f1", "name": "2.GGGG|HHHH|IIII"}], "items": []}'
)

FILE_ERRORS: list[tuple[str, bytes, str, str]] = [
    ("unknown format", b"title\nx\n", "lastpass-csv", "unknown import format"),
    ("empty", b"", "csv", "the file is empty"),
    ("only a BOM and blank lines", b"\xef\xbb\xbf\r\n  \n", "keepassxc-csv", "the file is empty"),
    ("empty json", b"", "bitwarden-json", "the file is empty"),
    ("binary garbage", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff", "csv", "not UTF-8"),
    ("latin-1 text", b"title,password\nCaf\xe9,pw\n", "csv", "not UTF-8"),
    ("UTF-16 with BOM", "title\nx\n".encode("utf-16"), "csv", "UTF-16"),
    ("not JSON", b"title,password\nx,y\n", "bitwarden-json", "not valid JSON"),
    ("JSON nested past the stack", b"[" * 100_000, "bitwarden-json", "not valid JSON"),
    ("JSON huge integer", b"1" * 5000, "bitwarden-json", "not valid JSON"),
    ("JSON list", b"[1, 2]", "bitwarden-json", "not a Bitwarden export"),
    ("encrypted, password-protected", ENCRYPTED_PASSWORD_PROTECTED, "bitwarden-json", "unencr"),
    ("encrypted with the account key", ENCRYPTED_ACCOUNT_KEY, "bitwarden-json", "unencrypted"),
    ("no items", b'{"encrypted": false, "folders": []}', "bitwarden-json", "no items list"),
    ("items not a list", b'{"items": {"a": 1}}', "bitwarden-json", "no items list"),
    ("encrypted not a bool", b'{"encrypted": "no", "items": []}', "bitwarden-json", "not a Bitw"),
    ("folder id not text", b'{"items": [], "folders": [{"id": 1, "name": "W"}]}', "bitwarden-json",
     "folders list is malformed"),
    ("folders not a list", b'{"items": [], "folders": "Work"}', "bitwarden-json", "malformed"),
    ("collection not an object", b'{"items": [], "collections": [7]}', "bitwarden-json",
     "collections list is malformed"),
    ("KeePassXC rows without a header", KEEPASS_ROW_NO_HEADER, "keepassxc-csv",
     "not a KeePassXC CSV header: column 1"),
    ("KeePassXC file read as 1Password", (FIXTURES / "keepassxc.csv").read_bytes(), "1password-csv",
     "not a 1Password CSV header"),
    ("own csv without title", b"username,password\nbob,hunter2-secret\n", "csv", "no title column"),
    ("own csv with a column twice", b"title,Title\nx,y\n", "csv", "title column twice"),
    ("own csv, unknown column", b"title,secret\nx,hunter2-secret\n", "csv", "column 2 is not"),
    ("header with broken quoting", b'"tit"le,password\nx,y\n', "csv", "quoting is malformed"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "fmt", "fragment"), [c[1:] for c in FILE_ERRORS], ids=[c[0] for c in FILE_ERRORS]
)
def test_whole_file_problems_are_one_line_user_errors(data: bytes, fmt: str, fragment: str) -> None:
    with pytest.raises(UserError) as caught:
        parse(data, fmt)
    message = str(caught.value)
    assert fragment in message
    assert "\n" not in message
    for secret in ("xK9#mP2$vL", "hunter2-secret", "Webmail"):
        assert secret not in message


def test_file_above_the_size_cap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importers, "MAX_INPUT_SIZE", 100)
    parse(b"title\n" + b"x" * 94, "csv")
    with pytest.raises(UserError, match="larger than 64 MiB"):
        parse(b"title\n" + b"x" * 95, "csv")


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"title\na\nb\nc\nd\n", "csv"),
        (b'{"items": [1, 2, 3, 4]}', "bitwarden-json"),
    ],
)
def test_more_rows_than_the_cap_is_refused(
    monkeypatch: pytest.MonkeyPatch, data: bytes, fmt: str
) -> None:
    monkeypatch.setattr(importers, "MAX_ROWS", 3)
    with pytest.raises(UserError, match="more than 3 entries"):
        parse(data, fmt)


def test_a_line_of_a_megabyte_is_refused_before_splitting_it() -> None:
    """A file of commas would otherwise become a list of millions of cells."""
    with pytest.raises(UserError, match="line 2 is longer than 1 MiB"):
        parse(b"title\n" + b"," * (importers.MAX_LINE_LENGTH + 1), "csv")


# -- CSV row handling -----------------------------------------------------------------

CSV_ROWS: list[tuple[str, bytes, str, list[ImportRow], list[BadRow]]] = [
    (
        "CRLF line ends, header in any order and case",
        b"Notes,PASSWORD,Title\r\nn1,p1,T1\r\n,p2,T2\r\n",
        "csv",
        [row("line 2", "T1", password="p1", notes="n1"), row("line 3", "T2", password="p2")],
        [],
    ),
    (
        "blank lines and empty-cell rows are skipped, line numbers still count them",
        b"title,password\n\n,\n  ,  \nT,p\n",
        "csv",
        [row("line 5", "T", password="p")],
        [],
    ),
    (
        "a multi-line record is named by the line it starts on",
        b'title,notes\nA,"one\ntwo\nthree"\nB,x\n',
        "csv",
        [row("line 2", "A", notes="one\ntwo\nthree"), row("line 5", "B", notes="x")],
        [],
    ),
    (
        "a quote left open swallows the rest: reported, not dropped",
        b'title,password\nA,p\nB,"open\nC,q\n',
        "csv",
        [row("line 2", "A", password="p")],
        [BadRow("line 3", "a quoted value is not closed before the end of the file")],
    ),
    (
        "a NUL inside a value",
        b"title,password\nA,p\x00w\n",
        "csv",
        [],
        [BadRow("line 2", "field password contains a NUL character")],
    ),
    (
        "a title that is only spaces",
        b"title,password\n   ,pw-secret\n",
        "csv",
        [],
        [BadRow("line 2", "no title")],
    ),
    (
        "a value past the csv module's field limit",
        b"title,notes\nA,\"" + b"n" * 200_000 + b'"\nB,x\n',
        "csv",
        [row("line 3", "B", notes="x")],
        [BadRow("line 2", "a value is longer than the CSV reader allows")],
    ),
    (
        "KeePassXC before 2.6: six columns; the root group under another name",
        b'"Group","Title","Username","Password","URL","Notes"\n'
        b'"Passwords","Root entry","u","p","",""\n'
        b'"Passwords/Office/","Trailing slash","","","",""\n',
        "keepassxc-csv",
        [
            row("line 2", "Root entry", username="u", password="p"),
            row("line 3", "Trailing slash"),
        ],
        [],
    ),
    (
        "1Password: header case, Type as category when there are no tags",
        b"TITLE,URL,USERNAME,PASSWORD,NOTES,TYPE,TAGS\n"
        b"Mail,https://m.example,al,pw,,Login,\n"
        b"Bank,,,,,Login,  ;Finance;Home\n",
        "1password-csv",
        [
            row("line 2", "Mail", url="https://m.example", username="al", password="pw",
                category="Login"),
            row("line 3", "Bank", category="Finance"),
        ],
        [],
    ),
    (
        "a category longer than allowed",
        b"title,category\nA," + b"c" * 65 + b"\n",
        "csv",
        [],
        [BadRow("line 2", "field category is longer than 64 characters")],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "fmt", "rows", "bad"), [c[1:] for c in CSV_ROWS], ids=[c[0] for c in CSV_ROWS]
)
def test_csv_rows(data: bytes, fmt: str, rows: list[ImportRow], bad: list[BadRow]) -> None:
    assert parse(data, fmt) == (rows, bad)


# -- Bitwarden item handling ----------------------------------------------------------


def bitwarden(*items: object, **extra: object) -> bytes:
    return json.dumps({"encrypted": False, "folders": [], "items": list(items), **extra}).encode()


def login(**fields: object) -> dict[str, object]:
    return {"type": 1, "name": "N", "folderId": None, "login": fields}


BITWARDEN_ITEMS: list[tuple[str, object, str | dict[str, str]]] = [
    ("item not an object", "Bank", "item is not a JSON object"),
    ("no type", {"name": "N"}, "item has no type this importer knows"),
    ("type true (a bool, not 1)", {"type": True, "name": "N"},
     "item has no type this importer knows"),
    ("unknown type", {"type": 99, "name": "N"}, "item has no type this importer knows"),
    ("SSH key", {"type": 5, "name": "N"}, "SSH key items are not supported"),
    ("name a number", {"type": 1, "name": 12345}, "field title is not text"),
    ("notes a list", {"type": 2, "name": "N", "notes": ["x"]}, "field notes is not text"),
    ("login a string", {"type": 1, "name": "N", "login": "pw-secret"},
     "login is not a JSON object"),
    ("password a number", login(password=123456), "field password is not text"),
    ("uris an object", login(uris={"uri": "x"}), "login uris is not a list"),
    ("uri entry a string", login(uris=["https://x"]),
     "login uris holds something that is not a JSON object"),
    ("uri a number", login(uris=[{"uri": 7}]), "field url is not text"),
    ("NUL in password", login(password="a\x00b"), "field password contains a NUL character"),
    ("login missing", {"type": 1, "name": "N"}, entry("N")),
    ("login null, folder unknown", {"type": 1, "name": "N", "login": None, "folderId": "nope"},
     entry("N")),
    ("first non-empty uri", login(uris=[{"uri": None}, {"uri": ""}, {"uri": "https://b"}]),
     entry("N", url="https://b")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("item", "expected"), [c[1:] for c in BITWARDEN_ITEMS], ids=[c[0] for c in BITWARDEN_ITEMS]
)
def test_bitwarden_items(item: object, expected: str | dict[str, str]) -> None:
    rows, bad = parse(bitwarden(item), "bitwarden-json")
    if isinstance(expected, str):
        assert (rows, bad) == ([], [BadRow("item 1", expected)])
    else:
        assert (rows, bad) == ([ImportRow("item 1", expected)], [])


def test_bitwarden_organisation_export_takes_the_category_from_the_collection() -> None:
    item = {"type": 1, "name": "N", "folderId": None, "collectionIds": ["x", "c1"], "login": {}}
    data = json.dumps(
        {"encrypted": False, "collections": [{"id": "c1", "name": "Shared"}], "items": [item]}
    ).encode()
    assert parse(data, "bitwarden-json") == (
        [ImportRow("item 1", entry("N", category="Shared"))],
        [],
    )


# -- fuzzing: any bytes, only UserError -----------------------------------------------

HEADERS = [
    b"title,username,password,url,category,notes\n",
    b'"Group","Title","Username","Password","URL","Notes"\n',
    b"Title,Url,Username,Password,OTPAuth,Favorite,Archived,Tags,Notes\r\n",
    b'{"encrypted": false, "folders": [{"id": "f", "name": "W"}], "items": [',
]
csv_ish = st.lists(st.sampled_from([b",", b'"', b"\n", b"\r", b"a", b"\x00", b" ", b"=", b"\xff"]))
hostile = (
    st.binary(max_size=300)
    | st.builds(lambda h, b: h + b, st.sampled_from(HEADERS), st.binary(max_size=200))
    | st.builds(lambda h, b: h + b"".join(b), st.sampled_from(HEADERS), csv_ish)
    | st.builds(lambda v: json.dumps(v).encode(), st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(
            st.sampled_from(["items", "folders", "type", "name", "login", "uris", "id", "folderId",
                             "encrypted", "password"]), c, max_size=4),
        max_leaves=12))
)  # fmt: skip


@given(hostile, st.sampled_from(FORMATS))
@settings(max_examples=400, deadline=None)
def test_parse_of_any_bytes_raises_only_user_error(data: bytes, fmt: str) -> None:
    try:
        rows, bad = parse(data, fmt)
    except UserError as exc:
        assert "\n" not in str(exc)
        return
    assert all(problem.reason and "\n" not in problem.reason for problem in bad)
    for result in rows:
        assert set(result.fields) == set(FIELDS)
        assert check_fields(result.fields) == result.fields


# -- exporting, and reading our exports back -------------------------------------------

text = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=24)
raw_entries = st.fixed_dictionaries(
    {"title": text.filter(str.strip)},
    optional={name: text for name in FIELDS if name != "title"},
)
valid_entries = st.lists(raw_entries.map(check_fields), max_size=6)


@given(valid_entries)
@settings(max_examples=150, deadline=None)
def test_bitwarden_export_reads_back_to_the_same_fields(entries: list[dict[str, str]]) -> None:
    rows, bad = parse(export(entries, "bitwarden-json"), "bitwarden-json")
    assert bad == []
    assert [r.fields for r in rows] == entries
    assert [r.where for r in rows] == [f"item {n}" for n in range(1, len(entries) + 1)]


@given(valid_entries)
@settings(max_examples=150, deadline=None)
def test_csv_export_reads_back_to_the_same_fields_but_defused(
    entries: list[dict[str, str]],
) -> None:
    """Our importer keeps the exporter's formula guard: values come back with the `'`."""
    rows, bad = parse(export(entries, "csv"), "csv")
    assert bad == []
    defused = [{k: defuse_formula(v) for k, v in e.items()} for e in entries]
    assert [r.fields for r in rows] == defused


def test_csv_export_is_exactly_this() -> None:
    entries = [
        entry("Mail", username="al", password="p,w", url="https://m", notes='say "hi"\nbye'),
        entry('=HYPERLINK("http://evil")', password="-2+3", category="@Work", notes="\tx"),
    ]
    assert export(entries, "csv") == (
        b"title,username,password,url,category,notes\r\n"
        b'Mail,al,"p,w",https://m,General,"say ""hi""\nbye"\r\n'
        b'"\'=HYPERLINK(""http://evil"")",,\'-2+3,,\'@Work,\'\tx\r\n'
    )


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=1", "a=1"),
        ("'=1", "'=1"),
        ("", ""),
    ],
)
def test_formula_defusing(value: str, written: str) -> None:
    """A spreadsheet opening the export must not run a cell as a formula (CSV injection)."""
    assert defuse_formula(value) == written


def test_bitwarden_export_is_deterministic_and_has_a_folder_per_category() -> None:
    entries = [entry("A", category="Work"), entry("B"), entry("C", category="Work")]
    data = export(entries, "bitwarden-json")
    assert data == export(entries, "bitwarden-json")
    doc = json.loads(data)
    assert doc["encrypted"] is False
    assert [f["name"] for f in doc["folders"]] == ["General", "Work"]
    folder_of = {f["id"]: f["name"] for f in doc["folders"]}
    assert [folder_of[i["folderId"]] for i in doc["items"]] == ["Work", "General", "Work"]


@pytest.mark.parametrize(
    ("entries", "fmt", "fragment"),
    [
        ([entry("A")], "xlsx", "unknown export format"),
        ([entry("A"), entry("")], "csv", "entry 2 cannot be exported: an entry needs a title"),
        ([{"title": "A", "id": "e1"}], "csv", "entry 1 cannot be exported: unknown field 'id'"),
        ([entry("A", password="\ud800")], "bitwarden-json", "entry 1 cannot be exported"),
        ([entry("A", password="x" * (MAX_LENGTH["password"] + 1))], "csv", "field password is"),
    ],
)
def test_export_refuses_what_it_could_not_read_back(
    entries: list[dict[str, str]], fmt: str, fragment: str
) -> None:
    with pytest.raises(UserError) as caught:
        export(entries, fmt)
    assert fragment in str(caught.value)


def test_export_of_nothing_is_just_the_header() -> None:
    assert export([], "csv") == b"title,username,password,url,category,notes\r\n"
    assert parse(export([], "bitwarden-json"), "bitwarden-json") == ([], [])


def test_exporters_formats_are_importable() -> None:
    assert set(exporters.EXPORT_FORMATS) <= set(FORMATS)
