"""Read password-manager export files into entry fields, row by row.

Formats (the caller names one; nothing here guesses):

- ``bitwarden-json``: Bitwarden's unencrypted JSON export. Logins and secure
  notes are read; the category is the item's folder (or, in an organisation
  export, its first collection), else "General".
- ``keepassxc-csv``: KeePassXC's CSV export (Group, Title, Username, Password,
  URL, Notes; newer versions add TOTP, Icon, Last Modified, Created, which are
  ignored). The category is the last part of the group path; the root group
  is "General".
- ``1password-csv``: 1Password 8's CSV export (Title, Url, Username, Password,
  OTPAuth, Favorite, Archived, Tags, Notes). The category is the first tag,
  else the Type column if there is one, else "General".
- ``csv``: our own format (see node.exporters): a header naming a subset of
  title, username, password, url, category, notes that includes title, in any
  order and any case. A leading ``'`` that the exporter adds against formula
  injection is kept, not stripped: this reader cannot tell it from a real one.

What this module does not do: touch the vault, the disk or the network; keep
TOTP secrets, custom fields, attachments, password history or any URL but the
first (an entry has one url); trim anything itself (check_fields decides).

Errors: a problem with the whole file raises UserError with a one-line message
that quotes nothing from the file (the "header" of a file exported without
one is a row of secrets). A problem with one row becomes a BadRow whose reason
names fields and counts, never values. Every data row or item ends up as
exactly one ImportRow or BadRow; only blank CSV lines (no cell with anything
but spaces in it) are skipped. CSV rows are named by the line they start on,
Bitwarden items by their position in the items list, counting from 1.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from node.entry_fields import DEFAULT_CATEGORY, FIELDS, check_fields
from node.errors import UserError

FORMATS = ("bitwarden-json", "keepassxc-csv", "1password-csv", "csv")
MAX_INPUT_SIZE = 64 * 1024 * 1024
MAX_ROWS = 100_000
# No valid row needs a physical line this long (the longest entry is ~23k
# characters); the cap keeps a file of commas from becoming a huge list.
MAX_LINE_LENGTH = 1024 * 1024


@dataclass(frozen=True)
class ImportRow:
    """One entry read from the file; `fields` holds all of FIELDS, checked by check_fields."""

    where: str
    fields: dict[str, str]


@dataclass(frozen=True)
class BadRow:
    """A row or item that could not be imported, and why (never quoting a value)."""

    where: str
    reason: str


Parsed = tuple[list[ImportRow], list[BadRow]]


def parse(data: bytes, fmt: str) -> Parsed:
    """Every row of an export file, as an ImportRow or a BadRow; UserError for the whole file."""
    if fmt not in FORMATS:
        raise UserError(f"unknown import format (formats: {', '.join(FORMATS)})")
    if len(data) > MAX_INPUT_SIZE:
        raise UserError("the file is larger than 64 MiB; that is not a password export")
    text = _decode_text(data)
    if fmt == "bitwarden-json":
        return _parse_bitwarden(text)
    return _parse_csv(text, _CSV_FORMATS[fmt])


def _decode_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UserError("the file is UTF-16 text; export it again as UTF-8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError("the file is not UTF-8 text") from None
    if not text.strip():
        raise UserError("the file is empty")
    return text


def _to_row(where: str, raw: Mapping[str, str]) -> ImportRow | BadRow:
    if not raw.get("title", "").strip():
        return BadRow(where, "no title")
    try:
        checked = check_fields(raw)
    except UserError as exc:  # check_fields names the field, never its value
        return BadRow(where, str(exc))
    return ImportRow(where, {name: checked[name] for name in FIELDS})


def _collect(results: Iterator[ImportRow | BadRow]) -> Parsed:
    rows: list[ImportRow] = []
    bad: list[BadRow] = []
    for count, result in enumerate(results, start=1):
        if count > MAX_ROWS:
            raise UserError(f"the file has more than {MAX_ROWS} entries; split it")
        if isinstance(result, ImportRow):
            rows.append(result)
        else:
            bad.append(result)
    return rows, bad


# -- CSV ------------------------------------------------------------------------------

IGNORED = ""  # the key of a column that is recognised but not imported


@dataclass(frozen=True)
class _CsvFormat:
    """One CSV dialect: its header cells (lower case) and how a row becomes fields."""

    label: str
    columns: Mapping[str, str]  # header cell -> key, or IGNORED
    to_fields: Callable[[Mapping[str, str]], dict[str, str]]

    def expected(self) -> str:
        return ", ".join(name for name, key in self.columns.items() if key)


def _parse_csv(text: str, spec: _CsvFormat) -> Parsed:
    records = _records(text)
    keys = _header_keys(next(records, None), spec)
    return _collect(_csv_row(record, keys, spec) for record in records)


def _csv_row(
    record: tuple[str, list[str]] | BadRow, keys: list[str], spec: _CsvFormat
) -> ImportRow | BadRow:
    if isinstance(record, BadRow):
        return record
    where, cells = record
    if len(cells) != len(keys):
        return BadRow(where, f"wrong number of columns ({len(cells)}, expected {len(keys)})")
    return _to_row(where, spec.to_fields({k: v for k, v in zip(keys, cells, strict=True) if k}))


def _header_keys(record: tuple[str, list[str]] | BadRow | None, spec: _CsvFormat) -> list[str]:
    """The key of each column. Messages name positions, never cells: they may be secrets."""
    not_header = f"the first line is not a {spec.label} header"
    if record is None:
        raise UserError("the file is empty")
    if isinstance(record, BadRow):
        raise UserError(f"{not_header} (its quoting is malformed)")
    keys: list[str] = []
    for position, cell in enumerate(record[1], start=1):
        key = spec.columns.get(cell.strip().lower())
        if key is None:
            raise UserError(f"{not_header}: column {position} is not one of {spec.expected()}")
        if key != IGNORED and key in keys:
            raise UserError(f"the header names the {key} column twice")
        keys.append(key)
    if "title" not in keys:
        raise UserError(f"{not_header}: it has no title column")
    return keys


def _records(text: str) -> Iterator[tuple[str, list[str]] | BadRow]:
    """(where, cells) per non-blank CSV record, or a BadRow for one the csv module rejects."""
    reader = csv.reader(_capped_lines(text), strict=True)
    stuck_at = -1
    while True:
        where = f"line {reader.line_num + 1}"
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if reader.line_num == stuck_at:  # no progress: never loop on one error
                return
            stuck_at = reader.line_num
            yield BadRow(where, _csv_problem(exc))
            continue
        if any(cell.strip() for cell in cells):
            yield where, cells


def _capped_lines(text: str) -> Iterator[str]:
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        if len(line) > MAX_LINE_LENGTH:
            raise UserError(f"line {number} is longer than 1 MiB; that is not a password export")
        yield line


def _csv_problem(exc: csv.Error) -> str:
    """A fixed reason for a csv.Error: its own text is not ours to forward."""
    message = str(exc)
    if "unexpected end of data" in message:
        return "a quoted value is not closed before the end of the file"
    if "field limit" in message:
        return "a value is longer than the CSV reader allows"
    return "malformed quoting"


def _common(cells: Mapping[str, str]) -> dict[str, str]:
    """The fields every CSV format names the same way."""
    return {name: cells.get(name, "") for name in ("title", "username", "password", "url", "notes")}


def _keepassxc_fields(cells: Mapping[str, str]) -> dict[str, str]:
    group = cells.get("group", "").split("/")
    # "Root/Internet" -> "Internet"; entries of the root group itself -> default
    return {**_common(cells), "category": group[-1] if len(group) > 1 else DEFAULT_CATEGORY}


def _onepassword_fields(cells: Mapping[str, str]) -> dict[str, str]:
    tags = cells.get("tags", "").replace(";", ",").split(",")
    first_tag = next((tag.strip() for tag in tags if tag.strip()), "")
    return {**_common(cells), "category": first_tag or cells.get("type", "")}


def _own_fields(cells: Mapping[str, str]) -> dict[str, str]:
    return dict(cells)


_KEEPASSXC = _CsvFormat(
    "KeePassXC CSV",
    {
        "group": "group",
        "title": "title",
        "username": "username",
        "password": "password",
        "url": "url",
        "notes": "notes",
        "totp": IGNORED,
        "icon": IGNORED,
        "last modified": IGNORED,
        "created": IGNORED,
    },
    _keepassxc_fields,
)
_ONEPASSWORD = _CsvFormat(
    "1Password CSV",
    {
        "title": "title",
        "url": "url",
        "website": "url",
        "username": "username",
        "password": "password",
        "notes": "notes",
        "tags": "tags",
        "type": "type",
        "otpauth": IGNORED,
        "favorite": IGNORED,
        "archived": IGNORED,
    },
    _onepassword_fields,
)
_OWN = _CsvFormat(
    "CSV",
    {name: name for name in FIELDS},
    _own_fields,
)
_CSV_FORMATS = {"keepassxc-csv": _KEEPASSXC, "1password-csv": _ONEPASSWORD, "csv": _OWN}


# -- Bitwarden JSON -------------------------------------------------------------------

LOGIN, SECURE_NOTE = 1, 2
_UNSUPPORTED = {3: "card", 4: "identity", 5: "SSH key"}
_NOT_BITWARDEN = "this JSON file is not a Bitwarden export"


class _BadValue(Exception):
    """A field of one item has the wrong JSON type; becomes that item's BadRow."""


def _parse_bitwarden(text: str) -> Parsed:
    doc = _load_json(text)
    if not isinstance(doc, dict):
        raise UserError(_NOT_BITWARDEN)
    encrypted = doc.get("encrypted", False)
    if encrypted is True:
        raise UserError("this is an encrypted Bitwarden export; export it unencrypted")
    items = doc.get("items")
    if encrypted is not False or not isinstance(items, list):
        raise UserError(f"{_NOT_BITWARDEN} (it has no items list)")
    if len(items) > MAX_ROWS:
        raise UserError(f"the file has more than {MAX_ROWS} entries; split it")
    groups = _names_by_id(doc, "folders"), _names_by_id(doc, "collections")
    return _collect(
        _bitwarden_item(f"item {number}", item, *groups) for number, item in enumerate(items, 1)
    )


def _load_json(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's stack
        raise UserError("the file is not valid JSON") from None


def _names_by_id(doc: Mapping[str, object], key: str) -> dict[str, str]:
    listed = doc.get(key)
    if listed is None:
        return {}
    malformed = UserError(f"{_NOT_BITWARDEN} (its {key} list is malformed)")
    if not isinstance(listed, list):
        raise malformed
    names: dict[str, str] = {}
    for folder in listed:
        if not isinstance(folder, dict):
            raise malformed
        ident, name = folder.get("id"), folder.get("name")
        if not isinstance(ident, str) or not isinstance(name, str):
            raise malformed
        names[ident] = name
    return names


def _bitwarden_item(
    where: str, item: object, folders: Mapping[str, str], collections: Mapping[str, str]
) -> ImportRow | BadRow:
    if not isinstance(item, dict):
        return BadRow(where, "item is not a JSON object")
    kind = item.get("type")
    if isinstance(kind, bool) or kind not in (LOGIN, SECURE_NOTE):
        return BadRow(where, _unsupported(kind))
    try:
        raw = {
            "title": _text(item, "name", "title"),
            "notes": _text(item, "notes", "notes"),
            "category": _bitwarden_category(item, folders, collections),
        }
        if kind == LOGIN:
            raw.update(_login_fields(item))
    except _BadValue as exc:
        return BadRow(where, str(exc))
    return _to_row(where, raw)


def _unsupported(kind: object) -> str:
    if isinstance(kind, int) and not isinstance(kind, bool) and kind in _UNSUPPORTED:
        return f"{_UNSUPPORTED[kind]} items are not supported"
    return "item has no type this importer knows"


def _text(obj: Mapping[str, object], key: str, field: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _BadValue(f"field {field} is not text")
    return value


def _login_fields(item: Mapping[str, object]) -> dict[str, str]:
    login = item.get("login")
    if login is None:
        login = {}
    if not isinstance(login, dict):
        raise _BadValue("login is not a JSON object")
    return {
        "username": _text(login, "username", "username"),
        "password": _text(login, "password", "password"),
        "url": _first_uri(login.get("uris")),
    }


def _first_uri(uris: object) -> str:
    if uris is None:
        return ""
    if not isinstance(uris, list):
        raise _BadValue("login uris is not a list")
    for entry in uris:
        if not isinstance(entry, dict):
            raise _BadValue("login uris holds something that is not a JSON object")
        uri = _text(entry, "uri", "url")
        if uri:
            return uri
    return ""


def _bitwarden_category(
    item: Mapping[str, object], folders: Mapping[str, str], collections: Mapping[str, str]
) -> str:
    folder = item.get("folderId")
    if isinstance(folder, str) and folder in folders:
        return folders[folder]
    owners = item.get("collectionIds")
    if isinstance(owners, list):
        for owner in owners:
            if isinstance(owner, str) and owner in collections:
                return collections[owner]
    return DEFAULT_CATEGORY
