"""Auto-lock after idle (gui/idle.py): 10 minutes by default, input resets it."""

from __future__ import annotations

from gui.idle import IDLE_LOCK, IdleLock


def test_locks_after_ten_idle_minutes_and_input_postpones_it() -> None:
    lock = IdleLock(last_input=0.0)
    assert IDLE_LOCK == 600
    assert not lock.due(599.9)
    lock.touched(300.0)
    assert not lock.due(600.0) and lock.remaining(600.0) == 300.0
    assert lock.due(900.0)


def test_an_old_input_reported_late_does_not_move_the_clock_back() -> None:
    lock = IdleLock(last_input=500.0)
    lock.touched(100.0)
    assert lock.last_input == 500.0


def test_zero_means_never() -> None:
    assert not IdleLock(after=0).due(10**9)
