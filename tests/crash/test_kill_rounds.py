"""A writer killed with SIGKILL at random moments loses nothing it reported saved.

Threat covered: a change the user was told is saved (the call returned) is gone
after the process dies, or the database is left corrupt or unopenable. The
README promises "a change is durable before the user is told it is saved"; this
is the CI-sized run of the soak (scripts/crash_soak runs hundreds of rounds).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.crash.rounds import Rig, Timing

ROUNDS = 12
SEED = 5_2026


def test_a_killed_writer_loses_nothing_it_reported_saved(tmp_path: Path) -> None:
    rig = Rig.new(tmp_path, SEED, Timing(early_share=0.15))
    for _ in range(ROUNDS):
        rig.round()
    tally = rig.tally
    assert tally.problems() == [], tally.summary()
    assert tally.kills == ROUNDS
    assert tally.saved > ROUNDS, tally.summary()  # the rounds did write
    assert tally.checked == tally.saved
    # the point of the test: kills landing inside a write (one in two or so do)
    assert tally.in_flight > 0, tally.summary()


def test_the_rounds_notice_a_vault_that_lost_a_round(tmp_path: Path) -> None:
    """Negative control: the vault put back as it was before a round must read as lost saves."""
    rig = Rig.new(tmp_path, SEED + 1, Timing(early_share=0, run_min=0.2, run_max=0.3))
    rig.round()
    before = shutil.copytree(rig.data_dir, tmp_path / "before")
    report = rig.write_and_kill()
    assert report.saves, "the writer saved nothing in 0.2 s"
    shutil.rmtree(rig.data_dir)
    shutil.copytree(before, rig.data_dir)  # as if nothing of this round had reached the disk
    rig.judge(report)
    assert rig.tally.integrity == []
    assert len(rig.tally.lost) >= len(report.saves)
    assert rig.tally.checked < rig.tally.saved
