"""The add form's password generator and strength meter (pure functions).

The generator draws from `secrets`. The meter estimates guessing entropy the
way the common meters do, conservatively: the size of the alphabet the
password uses, times its length, with penalties for repeats, runs and
sequences; it never sends the password anywhere and keeps nothing.
"""

from __future__ import annotations

import math
import secrets
import string
from dataclasses import dataclass

LOWER, UPPER, DIGITS = string.ascii_lowercase, string.ascii_uppercase, string.digits
SYMBOLS = "!#$%&()*+,-./:;<=>?@[]^_{}~"
AMBIGUOUS = set("Il1O0")
DEFAULT_LENGTH = 20
MIN_LENGTH, MAX_LENGTH = 8, 128
LABELS = ((0, "very weak"), (28, "weak"), (36, "fair"), (60, "strong"), (90, "very strong"))


@dataclass(frozen=True)
class Strength:
    bits: float
    label: str
    fraction: float  # 0..1, for the meter's bar


def generate(length: int = DEFAULT_LENGTH, symbols: bool = True) -> str:
    """A random password with at least one of each class it draws from."""
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ValueError(f"length must be {MIN_LENGTH}-{MAX_LENGTH}")
    classes = [c for c in (LOWER, UPPER, DIGITS, SYMBOLS if symbols else "")
               if c]  # fmt: skip
    classes = ["".join(ch for ch in c if ch not in AMBIGUOUS) for c in classes]
    alphabet = "".join(classes)
    while True:
        out = "".join(secrets.choice(alphabet) for _ in range(length))
        if all(any(ch in c for ch in out) for c in classes):
            return out


def strength(password: str) -> Strength:
    if not password:
        return Strength(0.0, LABELS[0][1], 0.0)
    pool = 0
    for chars, size in ((LOWER, 26), (UPPER, 26), (DIGITS, 10)):
        if any(ch in chars for ch in password):
            pool += size
    if any(not ch.isascii() or not ch.isalnum() for ch in password):
        pool += 33
    bits = 0.0
    per_char = math.log2(max(pool, 2))
    previous = ""
    for i, ch in enumerate(password):
        if ch == previous or (i and abs(ord(ch) - ord(previous)) == 1):
            bits += 1.0  # a repeat or a run (aaa, abc, 123) adds little
        else:
            bits += per_char
        previous = ch
    if password.lower() in COMMON:
        bits = min(bits, 10.0)
    label = [name for floor, name in LABELS if bits >= floor][-1]
    return Strength(round(bits, 1), label, min(1.0, bits / 100))


COMMON = frozenset({
    "password", "password1", "password123", "123456", "12345678", "123456789", "qwerty",
    "qwerty123", "letmein", "welcome", "admin", "administrator", "iloveyou", "monkey",
    "dragon", "sunshine", "football", "baseball", "abc123", "111111", "000000", "passw0rd",
    "trustno1", "changeme", "secret", "office", "wifi",
})  # fmt: skip
