"""Fuzzing import files: node.importers `parse` in every format (Bitwarden JSON, KeePassXC
CSV, 1Password CSV, our own CSV).

An export file is bytes a user picked, maybe from a stranger or a broken tool.
Threats: a file that crashes the import (csv.Error, KeyError, RecursionError,
UnicodeError), makes it loop or run long, lets a row through that breaks the
field limits, or gets a password quoted in an error message (a file without a
header puts secrets where the header should be). Only UserError may escape;
every imported row passes check_fields; every reason is one line and quotes
no value; a Bitwarden export's items are each imported or reported.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from node.entry_fields import FIELDS, check_fields
from node.errors import UserError
from node.importers import FORMATS, Parsed, parse
from tests.fuzz.hostile import FUZZ, damaged, watchdog

FIXTURES = Path(__file__).resolve().parent.parent / "node" / "fixtures" / "import"
SAMPLES = {
    "bitwarden-json": (FIXTURES / "bitwarden.json").read_bytes(),
    "keepassxc-csv": (FIXTURES / "keepassxc.csv").read_bytes(),
    "1password-csv": (FIXTURES / "1password.csv").read_bytes(),
    "csv": (FIXTURES / "simple.csv").read_bytes(),
}
SECRET = "s3cr3t"  # in every value the generators below write: never in a message


def _parsed(data: bytes, fmt: str) -> Parsed | None:
    """parse() under the watchdog: its rows, or None for a UserError; either way, every row
    is checked and no message or reason quotes a value."""
    try:
        with watchdog():
            rows, bad = parse(data, fmt)
    except UserError as exc:
        message = str(exc)
        assert message and "\n" not in message and SECRET not in message
        return None
    for row in rows:
        assert set(row.fields) == set(FIELDS) and check_fields(row.fields) == row.fields
    for problem in bad:
        assert problem.reason and "\n" not in problem.reason
        assert SECRET not in problem.where + problem.reason
    return rows, bad


def test_the_samples_are_valid() -> None:
    """Control: every fixture imports at least one row."""
    for fmt, data in SAMPLES.items():
        parsed = _parsed(data, fmt)
        assert parsed is not None and parsed[0]


@FUZZ
@given(st.sampled_from(FORMATS), damaged(list(SAMPLES.values())) | st.binary(max_size=300))
def test_a_damaged_export_raises_only_user_error(fmt: str, data: bytes) -> None:
    """Threat: a real export of any format, cut, spliced, flipped or extended (also read as
    another format than it is), crashes the import or lets a row past the field limits."""
    _parsed(data, fmt)


# -- CSV built cell by cell -------------------------------------------------------------

HEADERS = {
    "csv": ["title", "username", "password", "url", "category", "notes"],
    "keepassxc-csv": ["Group", "Title", "Username", "Password", "URL", "Notes", "TOTP"],
    "1password-csv": ["Title", "Url", "Username", "Password", "OTPAuth", "Tags", "Notes", "Type"],
}
_tame = st.text(st.sampled_from("ab é-"), max_size=6)
_wild = st.text(st.sampled_from('ab ,"\n\r\t=/;\x00é'), max_size=6)
secrets = st.builds(lambda a, b: a + SECRET + b, _tame | _wild, _tame | _wild)


def _cell(value: str, quoting: str) -> str:
    if quoting == "quoted":
        return '"' + value.replace('"', '""') + '"'
    if quoting == "broken":
        return '"' + value
    return value


@st.composite
def csv_files(draw: st.DrawFn, fmt: str) -> bytes:
    """A header (the format's columns shuffled, one dropped, or a row of secrets), then
    rows of secret values, quoted, bare or with broken quoting, of the right width or not."""
    header = list(HEADERS[fmt])
    shape = draw(st.sampled_from(["as is", "as is", "shuffled", "short", "secrets"]))
    if shape == "shuffled":
        header = draw(st.permutations(header))
    elif shape == "short":
        header = header[: draw(st.integers(1, len(header)))]
    elif shape == "secrets":
        header = [draw(secrets) for _ in header]
    lines = [",".join(header)]
    widths = [len(header)] * 4 + [len(header) - 1, len(header) + 1]
    for _ in range(draw(st.integers(0, 4))):
        width = draw(st.sampled_from(widths))
        # Mostly rows a real exporter writes (every cell quoted), some of hand-made damage.
        mode = draw(st.sampled_from(["quoted", "quoted", "mixed"]))
        quoting = st.just("quoted") if mode == "quoted" else st.sampled_from(["bare", "broken"])
        lines.append(",".join(_cell(draw(secrets), draw(quoting)) for _ in range(width)))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return (draw(st.sampled_from(["", "\ufeff"])) + newline.join(lines)).encode()


@FUZZ
@given(st.sampled_from(sorted(HEADERS)).flatmap(lambda f: st.tuples(st.just(f), csv_files(f))))
def test_a_hostile_csv_never_quotes_a_value(case: tuple[str, bytes]) -> None:
    """Threat: rows that are too wide, too narrow, badly quoted or under a header of secrets
    get a password quoted in an error a user may paste into a ticket, or crash the import."""
    fmt, data = case
    _parsed(data, fmt)


# -- Bitwarden JSON built item by item -----------------------------------------------------

json_leaf = st.none() | st.booleans() | st.integers(-3, 6) | secrets | st.floats(allow_nan=False)
json_any = st.recursive(
    json_leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c,
                                                                    max_size=3),
    max_leaves=8,
)  # fmt: skip
uris = st.lists(st.fixed_dictionaries({"uri": secrets | json_leaf}) | json_any, max_size=3)
logins = st.fixed_dictionaries(
    {}, optional={"username": secrets | json_leaf, "password": secrets | json_leaf,
                  "uris": uris | json_leaf, "totp": secrets}
)  # fmt: skip
items = (
    st.fixed_dictionaries(
        {"type": st.sampled_from([1, 1, 2, 3, 4, 5, 0, True, "1", None])},
        optional={
            "name": secrets | json_leaf,
            "notes": secrets | json_leaf,
            "login": logins | json_any,
            "folderId": st.sampled_from(["f", "g", SECRET]) | json_leaf,
            "collectionIds": st.lists(st.sampled_from(["c", SECRET]) | json_leaf, max_size=2),
        },
    )
    | json_any
)
folders = st.lists(
    st.fixed_dictionaries({"id": st.sampled_from(["f", "c"]), "name": secrets}) | json_any,
    max_size=2,
)


@settings(FUZZ, max_examples=250)
@given(
    st.lists(items, max_size=5),
    st.fixed_dictionaries({}, optional={"folders": folders | json_leaf,
                                        "collections": folders | json_leaf,
                                        "encrypted": st.sampled_from([False, False, True, 0])}),
)  # fmt: skip
def test_a_hostile_bitwarden_export_accounts_for_every_item(
    listed: list[object], extra: dict[str, object]
) -> None:
    """Threat: items of the wrong shape or type (a login that is a list, a URI that is a
    number, a folder list of strings) crash the import, are silently dropped, or get a
    secret quoted in the reason they were refused."""
    data = json.dumps({**extra, "items": listed}).encode()
    parsed = _parsed(data, "bitwarden-json")
    if parsed is not None:
        assert len(parsed[0]) + len(parsed[1]) == len(listed)
