"""The add and edit forms' logic: validation messages per field, and the category choices.

`validate` returns a message for each field that is wrong (the form shows it next
to that field) and never quotes a value; an empty result means the form can be
saved. The vault checks the same rules again (node/entry_fields.py) on save.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from node.entry_fields import DEFAULT_CATEGORY, FIELDS, MAX_LENGTH

LABELS = {"title": "Title", "username": "Username", "password": "Password", "url": "Website",
          "category": "Category", "notes": "Notes"}  # fmt: skip


def validate(values: Mapping[str, str], adding: bool = True) -> dict[str, str]:
    """Field name -> what is wrong with it (empty: nothing)."""
    problems: dict[str, str] = {}
    for name in FIELDS:
        value = values.get(name, "")
        if "\x00" in value:
            problems[name] = "contains a character that cannot be saved"
        elif len(value) > MAX_LENGTH[name]:
            problems[name] = f"at most {MAX_LENGTH[name]:,} characters"
    if adding and not values.get("title", "").strip():
        problems.setdefault("title", "an entry needs a title")
    if adding and not values.get("password", ""):
        problems.setdefault("password", "type one, or press Generate")
    url = values.get("url", "").strip()
    if url and " " in url:
        problems.setdefault("url", "a web address has no spaces")
    return problems


def changes(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, str]:
    """What an edit form changes (only the fields that differ), for Vault.edit."""
    return {n: after[n] for n in FIELDS if n in after and after[n] != before.get(n, "")}


def categories(existing: Iterable[str]) -> list[str]:
    """The picker's choices: those in use, sorted, the default one always there."""
    return sorted({*existing, DEFAULT_CATEGORY} - {""}, key=str.casefold)
