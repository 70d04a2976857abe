"""scripts/bench_report.py, the report scripts/bench writes, fed recorded figures by hand.

No benchmark runs here and nothing is timed: the records are made up. The chart test
needs matplotlib (the `bench` extra) and is skipped without it.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_report.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_report", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report_code = _load()

MACHINE = {"cores": 2, "cpu": "Test CPU", "python": "3.11.7", "system": "Linux",
           "load_average": [0.5, 0.25, 0.1]}  # fmt: skip


def fig(figure: str, value: float | None, unit: str, bar: float | None, **more: Any) -> Any:
    return {"figure": figure, "value": value, "unit": unit, "bar": bar,
            "promise": more.get("promise"), "passed": more.get("passed"),
            "detail": ""}  # fmt: skip


def step(name: str, figures: list[dict[str, Any]], exit_code: int = 0) -> dict[str, Any]:
    return {"name": name, "title": name.title(), "command": f"scripts/bench_{name}.py",
            "exit_code": exit_code, "seconds": 3.0, "log": f"bench-results/logs/{name}.log",
            "figures": figures}  # fmt: skip


def meta(mode: str = "full") -> dict[str, Any]:
    return {"mode": mode, "date": "2026-12-02T06:00:00+00:00", "commit": "abc1234",
            "machine": MACHINE, "seconds": 600.0, "latency_chart": None}  # fmt: skip


SOAK = {"profile": "soak", "commits": ["abc1234"], "seeds": 100, "writes": 98000,
        "refused": 1200, "forgeries": 300, "faults": {"crashes": 7, "partitions": 12},
        "violations": 0, "failed_seeds": [], "max_heartbeats_to_converge": 2,
        "seconds": 7200}  # fmt: skip


def test_records_are_read_one_a_line_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    good = fig("import", 391.0, "ms", 1000, passed=True)
    path.write_text(json.dumps(good) + "\n" + '{"figure": "half')
    assert report_code.read_records(path) == [good]
    assert report_code.read_records(tmp_path / "absent.jsonl") == []


def test_a_missed_bar_fails_the_report_and_shows_in_the_table() -> None:
    steps = [
        step("vault", [
            fig("bulk import", 391.2, "ms", 1000, promise="5-10 s", passed=True),
            fig("search p95", 17.5, "ms", 16, passed=False),
        ]),
        step("unlock", [fig("unlock median", 0.76, "s", None)]),
    ]  # fmt: skip
    report = report_code.build(meta(), steps, None)
    assert report["summary"] == {"bars_met": 1, "bars_missed": 1, "without_bar": 1,
                                 "steps_failed": [], "ok": False}  # fmt: skip
    assert [f["benchmark"] for f in report["figures"]] == ["vault", "vault", "unlock"]
    text = report_code.markdown(report)
    assert "| figure | our result | bar | the plan's promise | pass/fail |" in text
    assert "| bulk import | 391 ms | ≤ 1000 ms | 5-10 s | PASS |" in text
    assert "| search p95 | 17.5 ms | ≤ 16 ms | — | **FAIL** |" in text
    assert "| unlock median | 0.76 s | none | — | - |" in text
    assert "1 of 2 bars met, **1 missed**" in text
    assert "Full run" in text and "2 cores, Test CPU, Python 3.11.7" in text
    assert "2026-12-02 06:00 UTC" in text and "abc1234" in text
    json.dumps(report)  # report.json is plain JSON


def test_a_step_that_failed_to_run_fails_the_report_even_with_every_bar_met() -> None:
    steps = [step("vault", [fig("import", 1.0, "ms", 1000, passed=True)]), step("nodes", [], 1)]
    report = report_code.build(meta("quick"), steps, None)
    assert report["summary"]["ok"] is False
    assert report["summary"]["steps_failed"] == ["nodes"]
    text = report_code.markdown(report)
    assert "Failed to run: nodes" in text
    assert "No figures were recorded." in text
    assert "Quick run" in text


def test_every_bar_met_passes_and_the_soak_gets_its_section() -> None:
    steps = [step("vault", [fig("import", 1.0, "ms", 1000, passed=True)])]
    report = report_code.build(meta(), steps, SOAK)
    assert report["summary"]["ok"] is True
    assert report["soak"] == SOAK
    text = report_code.markdown(report)
    assert "Reliability: soak" in text
    assert "100 seeds, 98,000 writes confirmed (1,200 refused)" in text
    assert "19 faults injected (crashes 7, partitions 12); violations 0" in text
    assert "120 min of seed runs" in text


def test_a_figure_that_measured_nothing_says_so() -> None:
    report = report_code.build(meta(), [step("nodes", [fig("none seen", None, "ms", 250,
                                                            passed=False)])], None)  # fmt: skip
    assert "| none seen | not measured | ≤ 250 ms | — | **FAIL** |" in report_code.markdown(report)


LATENCY = {
    "nodes": 5, "topology": "pairs", "edits_per_path": 3,
    "pushed": {"to_all_ms": {"p50": 7.0, "p99": 9.0},
               "samples_per_node_ms": [2.5, 4.3, 6.7, 4.2, 2.4, 1.9]},
    "refreshed": {"to_all_ms": {}, "samples_per_node_ms": [3.3, 4.5, 6.2]},
}  # fmt: skip


@pytest.fixture(scope="module")
def matplotlib_fonts(tmp_path_factory: pytest.TempPathFactory) -> None:
    """matplotlib keeps its font files open once loaded (a cache for the whole process):
    one chart drawn before the tests' own descriptors are counted."""
    pytest.importorskip("matplotlib")
    report_code.draw_latency(LATENCY, tmp_path_factory.mktemp("fonts") / "warm.png")


def test_the_latency_chart_is_a_png(tmp_path: Path, matplotlib_fonts: None) -> None:
    out = tmp_path / "latency.png"
    report_code.draw_latency(LATENCY, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_samples_means_no_chart(tmp_path: Path, matplotlib_fonts: None) -> None:
    empty: dict[str, Any] = {
        "pushed": {"samples_per_node_ms": []},
        "refreshed": {"samples_per_node_ms": []},
    }
    with pytest.raises(ValueError, match="no samples"):
        report_code.draw_latency(empty, tmp_path / "latency.png")
    assert not (tmp_path / "latency.png").exists()
