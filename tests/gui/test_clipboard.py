"""The clipboard guard (gui/clipboard.py). Threat covered: a copied password left on the
clipboard for any later program to read; and the opposite harm, wiping what the user
copied afterwards."""

from __future__ import annotations

import pytest

from gui.clipboard import CLEAR_AFTER, ClipboardGuard

T = 1000.0


def test_our_value_is_cleared_after_30_seconds_not_before() -> None:
    guard = ClipboardGuard()
    guard.copied("hunter2", T)
    assert guard.due == T + CLEAR_AFTER == T + 30
    assert not guard.should_clear(T + 29.9, "hunter2")
    assert guard.should_clear(T + 30, "hunter2")
    assert guard.due is None


@pytest.mark.parametrize("current", ["something else", "", None, "hunter2 "])
def test_what_the_user_copied_since_is_left_alone(current: str | None) -> None:
    guard = ClipboardGuard()
    guard.copied("hunter2", T)
    assert not guard.should_clear(T + 31, current)
    assert guard.due is None  # and never looked at again


def test_a_second_copy_restarts_the_timer_and_replaces_the_value() -> None:
    guard = ClipboardGuard()
    guard.copied("first", T)
    guard.copied("second", T + 20)
    assert not guard.should_clear(T + 31, "second")
    assert not guard.should_clear(T + 49, "first")  # not due yet at all
    guard2 = ClipboardGuard()
    guard2.copied("first", T)
    guard2.copied("second", T + 20)
    assert not guard2.should_clear(T + 50, "first")  # the old value is not ours any more


def test_lock_says_whether_to_clear_at_once() -> None:
    guard = ClipboardGuard()
    assert not guard.forget()
    guard.copied("hunter2", T)
    assert guard.forget()
    assert guard.due is None and not guard.should_clear(T + 60, "hunter2")


def test_the_secret_itself_is_not_kept() -> None:
    guard = ClipboardGuard()
    guard.copied("correct horse battery staple", T)
    assert "correct horse" not in repr(guard)
    assert all("correct horse" not in str(v) for v in vars(guard).values())
