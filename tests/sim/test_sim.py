"""The fault simulator's quick profile, in CI (SECURITY_TESTS 23-28, DESIGN I-1..I-3, I-7).

Each seed runs 6 PCs (2 admins) for 30 virtual seconds of writes under 10 %
loss, 5 % duplication, reordering, partitions, crashes, one PC an hour off,
a revocation (sometimes of a PC cut off at that moment), member forgeries and
a PC joining mid-run; then the network heals and the checker judges the end
state (tests/sim/checker.py). A failing seed's message ends with the command
that replays it. scripts/soak runs the large profile.

The checker judges by the simulation's own record of roles and cut-offs, and is
shown to catch what it is for: with the judge's member rule switched off (a
test double) the forgeries get in and it says so; likewise with revocation
cut-offs ignored by the judge, or set one envelope early by the revoking
admin; with one PC cut off for good it reports the divergence.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from node import oplog
from node.membership_state import State
from node.office import Office
from node.tokens import Role
from tests.sim import run
from tests.sim.net import Network
from tests.sim.run import PROFILES, Result, Sim

QUICK = PROFILES["quick"]
SEEDS = range(16)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return run.template_for(QUICK, tmp_path_factory.mktemp("sim-template"))


def simulate(seed: int, template: list[Path], workdir: Path) -> Result:
    return Sim(seed, QUICK, template, workdir).run()


def verdict(result: Result) -> str:
    return "\n".join([result.line(), *result.violations, f"replay: {result.replay()}"])


@pytest.mark.parametrize("seed", SEEDS)
def test_honest_nodes_converge_and_keep_every_rule(
    seed: int, template: list[Path], tmp_path: Path
) -> None:
    result = simulate(seed, template, tmp_path)
    assert not result.violations, verdict(result)
    assert result.writes > 20 and 0 <= result.rounds <= QUICK.settle_rounds


def test_the_quick_profile_injects_every_kind_of_fault(
    template: list[Path], tmp_path: Path
) -> None:
    """Over the CI seeds together, every fault the issue names actually happens."""
    seen: set[str] = set()
    forgeries = 0
    for seed in range(6):
        result = simulate(seed, template, tmp_path / str(seed))
        seen |= set(result.faults)
        forgeries += result.forgeries
    assert {"crashes", "partitions", "revocations", "revoked_while_cut_off", "joins"} <= seen
    assert {"wiped", "refused_frames"} <= seen
    assert forgeries > 0


def test_a_seed_replays_the_same_run(template: list[Path], tmp_path: Path) -> None:
    first = simulate(3, template, tmp_path / "a")
    again = simulate(3, template, tmp_path / "b")
    assert (first.writes, first.refused, first.forgeries, first.faults, first.rounds) == (
        again.writes,
        again.refused,
        again.forgeries,
        again.faults,
        again.rounds,
    )
    assert first.digest and first.digest == again.digest
    assert "--seed 3" in first.replay()


def test_the_checker_fails_when_members_may_edit(
    template: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test double of the judge that lets a member's edit through (I-2 broken on every
    node alike: they still converge, so only the checker's own rules can catch it)."""
    monkeypatch.setattr(oplog, "_check_version", lambda *_args: None)
    result = simulate(5, template, tmp_path)
    assert result.forgeries > 0
    assert any("by a member" in v for v in result.violations), verdict(result)


def test_the_checker_fails_when_a_node_never_hears_the_others(
    template: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A network double that never heals one PC's link: the end states differ."""
    real = Network.linked

    def linked(self: Network, a: str, b: str) -> bool:
        return "pc01" not in (a, b) and real(self, a, b)

    monkeypatch.setattr(Network, "linked", linked)
    result = simulate(2, template, tmp_path)
    assert result.violations, verdict(result)
    assert any("differ" in v or "not converged" in v or "missing" in v for v in result.violations)


def test_the_checker_fails_when_the_judge_ignores_a_revocations_cut_off(
    template: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test double of the membership's rule (used by the judge, not by the checker) that
    lets a revoked device's envelopes past its cut-off count (I-3 broken everywhere)."""
    real = State.role_for

    def lenient(self: State, device_id: bytes, seq: int) -> Role | None:
        revoked = self.revoked.get(device_id)
        return real(self, device_id, min(seq, revoked.cutoff) if revoked else seq)

    monkeypatch.setattr(State, "role_for", lenient)
    result = simulate(1, template, tmp_path)  # seed 1: the revoked PC writes past its cut-off
    assert any("past its cut-off" in v for v in result.violations), verdict(result)


def test_the_checker_fails_when_a_revocation_drops_a_saved_write(
    template: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test double of the revoking admin that sets the cut-off one envelope too early:
    a write the user was told was saved, and the admin held, would be dropped."""
    real = Office._cutoff
    monkeypatch.setattr(Office, "_cutoff", lambda self, device: max(0, real(self, device) - 1))
    result = simulate(9, template, tmp_path)  # seed 9: the revoked PC had saved envelopes
    assert any("revocations" in v for v in result.violations), verdict(result)
