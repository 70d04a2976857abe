"""What an entry holds: its field names, which are secret, and their size limits.

Every field is a string, and every field is encrypted in the document
(titles and URLs too: metadata is a secret). "Secret" here only means what
the CLI and the window hide until the user asks to reveal it.
"""

from __future__ import annotations

from collections.abc import Mapping

from node.errors import UserError

FIELDS = ("title", "username", "password", "url", "category", "notes")
SECRET_FIELDS = frozenset({"password"})
MAX_LENGTH = {
    "title": 256,
    "username": 512,
    "password": 4096,
    "url": 2048,
    "category": 64,
    "notes": 16 * 1024,
}
DEFAULT_CATEGORY = "General"

Fields = dict[str, str]


def check_fields(values: Mapping[str, str], partial: bool = False) -> Fields:
    """Validated fields: known names, strings within limits, a title unless `partial`.

    Missing fields become "" (the category becomes DEFAULT_CATEGORY). The
    error names the field, never its value.
    """
    out: Fields = {}
    for name, value in values.items():
        if name not in MAX_LENGTH:
            raise UserError(f"unknown field {name!r} (fields: {', '.join(FIELDS)})")
        if not isinstance(value, str):
            raise UserError(f"field {name} must be text")
        if "\x00" in value:
            raise UserError(f"field {name} contains a NUL character")
        if len(value) > MAX_LENGTH[name]:
            raise UserError(f"field {name} is longer than {MAX_LENGTH[name]} characters")
        out[name] = value if name in {"password", "notes"} else value.strip()
    if partial:
        return out
    for name in FIELDS:
        out.setdefault(name, "")
    if not out["category"]:
        out["category"] = DEFAULT_CATEGORY
    if not out["title"]:
        raise UserError("an entry needs a title")
    return out
