"""The generator and the strength meter (gui/passwords.py)."""

from __future__ import annotations

import pytest

from gui.passwords import AMBIGUOUS, DIGITS, LOWER, SYMBOLS, UPPER, generate, strength


@pytest.mark.parametrize("length", [8, 20, 64, 128])
def test_generated_passwords_have_the_length_and_every_class(length: int) -> None:
    for _ in range(50):
        pw = generate(length)
        assert len(pw) == length
        assert all(any(ch in c for ch in pw) for c in (LOWER, UPPER, DIGITS, SYMBOLS))
        assert not set(pw) & AMBIGUOUS


def test_without_symbols_and_never_the_same_twice() -> None:
    seen = {generate(20, symbols=False) for _ in range(200)}
    assert len(seen) == 200
    assert all(ch.isalnum() for pw in seen for ch in pw)


@pytest.mark.parametrize("length", [0, 7, 129])
def test_a_length_out_of_range_is_refused(length: int) -> None:
    with pytest.raises(ValueError):
        generate(length)


@pytest.mark.parametrize(
    ("password", "label"),
    [
        ("", "very weak"),
        ("password", "very weak"),
        ("Password123", "very weak"),
        ("aaaaaaaaaaaaaaaa", "very weak"),
        ("abcdefgh", "very weak"),
        ("tr0ub4dor", "fair"),
        ("Tr0ub4dor&3x", "strong"),
        ("correct horse battery staple", "very strong"),
    ],
)
def test_the_meter_labels(password: str, label: str) -> None:
    assert strength(password).label == label


def test_generated_passwords_read_very_strong_and_the_bar_is_a_fraction() -> None:
    s = strength(generate())
    assert s.label == "very strong" and 0 < s.fraction <= 1
    assert strength("").fraction == 0
