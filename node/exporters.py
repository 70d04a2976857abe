"""Write entries out as a file another program (or node.importers) can read.

Formats:

- ``csv``: a header ``title,username,password,url,category,notes``, then one
  row per entry, UTF-8 without a byte-order mark, CRLF line ends, quoted only
  where needed. Against CSV formula injection (a spreadsheet running a cell
  that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return),
  such a value is written with a ``'`` in front. The importer's ``csv`` format
  does not strip it (it cannot tell it from a real leading quote), so a
  password starting with one of those characters comes back one ``'`` longer
  after an export and re-import through CSV. ``bitwarden-json`` is lossless.
- ``bitwarden-json``: an unencrypted Bitwarden JSON export, one folder per
  category, every entry a login item. Bitwarden and node.importers read it.

The output is a plaintext file of every secret: what to do with it (warn,
choose where it goes, delete it) is the caller's business. This module does
no I/O and takes no randomness: the same entries give the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Mapping, Sequence

from node.entry_fields import FIELDS, Fields, check_fields
from node.errors import UserError

EXPORT_FORMATS = ("csv", "bitwarden-json")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Folder and item ids only link items to folders inside one file; deriving them
# from names and positions keeps the output deterministic.
_ID_NAMESPACE = uuid.UUID("6f1c43a5-0b7e-4d0e-9d3c-5a0f3e1f7c21")


def export(entries: Sequence[Mapping[str, str]], fmt: str) -> bytes:
    """The file bytes for `entries` (each holding only entry fields) in format `fmt`."""
    if fmt not in EXPORT_FORMATS:
        raise UserError(f"unknown export format (formats: {', '.join(EXPORT_FORMATS)})")
    checked = [_checked(number, entry) for number, entry in enumerate(entries, start=1)]
    if fmt == "csv":
        return _csv(checked)
    return _bitwarden(checked)


def _checked(number: int, entry: Mapping[str, str]) -> Fields:
    try:
        fields = check_fields(entry)
        for value in fields.values():
            value.encode("utf-8")  # a lone surrogate cannot be written to a file
    except UserError as exc:
        raise UserError(f"entry {number} cannot be exported: {exc}") from None
    except UnicodeEncodeError:
        raise UserError(f"entry {number} cannot be exported: it is not valid text") from None
    return fields


def defuse_formula(value: str) -> str:
    """`value`, with a ``'`` in front if a spreadsheet would run it as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _csv(entries: list[Fields]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for entry in entries:
        writer.writerow([defuse_formula(entry[name]) for name in FIELDS])
    return out.getvalue().encode("utf-8")


def _bitwarden(entries: list[Fields]) -> bytes:
    categories = sorted({entry["category"] for entry in entries})
    folder_ids = {name: str(uuid.uuid5(_ID_NAMESPACE, f"folder {name}")) for name in categories}
    doc = {
        "encrypted": False,
        "folders": [{"id": folder_ids[name], "name": name} for name in categories],
        "items": [
            _bitwarden_item(number, entry, folder_ids[entry["category"]])
            for number, entry in enumerate(entries, start=1)
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"


def _bitwarden_item(number: int, entry: Fields, folder_id: str) -> dict[str, object]:
    uris = [{"match": None, "uri": entry["url"]}] if entry["url"] else []
    return {
        "id": str(uuid.uuid5(_ID_NAMESPACE, f"item {number}")),
        "organizationId": None,
        "folderId": folder_id,
        "type": 1,
        "reprompt": 0,
        "name": entry["title"],
        "notes": entry["notes"] or None,
        "favorite": False,
        "login": {
            "uris": uris,
            "username": entry["username"] or None,
            "password": entry["password"] or None,
            "totp": None,
        },
        "collectionIds": None,
    }
