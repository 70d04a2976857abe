"""The report scripts/bench writes: records in, report.json / report.md / latency.png out.

Pure apart from reading a records file and the machine's facts, and drawing the chart:
it judges nothing itself (each record carries the verdict its benchmark printed) and runs
no benchmark. Importable without matplotlib, which only `draw_latency` needs.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

Record = dict[str, Any]

LATENCY_BARS = ((50.0, "p50 bar 50 ms"), (250.0, "p99 bar 250 ms"))


def read_records(path: Path) -> list[Record]:
    """The figures a benchmark recorded (one JSON object a line); a torn last line is skipped."""
    if not path.exists():
        return []
    out = []
    for text in path.read_text(encoding="utf-8").splitlines():
        try:
            item = json.loads(text)
        except json.JSONDecodeError:
            continue  # a benchmark killed mid-write
        if isinstance(item, dict) and "figure" in item:
            out.append(item)
    return out


def machine_info() -> dict[str, Any]:
    """Cores this process may use, CPU model, Python, and the load average now."""
    model = "unknown"
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                model = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": len(os.sched_getaffinity(0)),
        "cpu": model,
        "python": platform.python_version(),
        "system": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def commit(root: Path) -> str:
    """The short commit checked out, with "+changes" when tracked files differ from it."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # a read: never refresh the index
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 (git from PATH)
            cwd=root, env=env, capture_output=True, text=True, timeout=10, check=False,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=root, env=env, capture_output=True, text=True, timeout=10, check=False,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("+changes" if dirty else "")


def build(meta: dict[str, Any], steps: list[dict[str, Any]], soak: Record | None) -> Record:
    """report.json's content. `steps`: name, title, command, exit_code, seconds, log, figures."""
    figures = [{"benchmark": s["name"], **f} for s in steps for f in s["figures"]]
    for f in figures:
        if isinstance(f.get("value"), float):
            f["value"] = round(f["value"], 3)
    failed_steps = [s["name"] for s in steps if s["exit_code"] != 0]
    summary = {
        "bars_met": sum(f["passed"] is True for f in figures),
        "bars_missed": sum(f["passed"] is False for f in figures),
        "without_bar": sum(f["passed"] is None for f in figures),
        "steps_failed": failed_steps,
        "ok": not failed_steps and all(f["passed"] is not False for f in figures),
    }
    return {
        **meta,
        "summary": summary,
        "steps": [{k: v for k, v in s.items() if k != "figures"} for s in steps],
        "figures": figures,
        "soak": soak,
    }


def value_text(value: float | None, unit: str) -> str:
    if value is None:
        return "not measured"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "ms" and value >= 100:
        return f"{value:.0f} ms"
    return f"{value:.1f} {unit}"


def bar_text(bar: float | None, unit: str) -> str:
    return "none" if bar is None else f"≤ {bar:g} {unit}"


def verdict_text(passed: bool | None) -> str:
    return {True: "PASS", False: "**FAIL**", None: "-"}[passed]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def date_text(iso: str) -> str:
    try:
        return datetime.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M %Z")
    except ValueError:
        return iso


def machine_text(machine: dict[str, Any]) -> str:
    load = " ".join(f"{x:g}" for x in machine["load_average"])
    return (
        f"{machine['cores']} cores, {machine['cpu']}, Python {machine['python']}; "
        f"load average {load} (1, 5, 15 min) at the start"
    )


def markdown(report: Record) -> str:
    """report.md: how it ran, the verdict, one table per benchmark, the chart, the soak."""
    s = report["summary"]
    kind = (
        "Quick run (`scripts/bench --quick`: shortened runs for a check; not the README's figures)"
        if report["mode"] == "quick"
        else "Full run (`scripts/bench`)"
    )
    if report.get("only"):
        kind += f", only {', '.join(report['only'])}"
    out = [
        "# OfficeVault benchmarks",
        "",
        f"{kind} on {machine_text(report['machine'])}; {date_text(report['date'])}; commit "
        f"{report['commit']}; took {_duration(report['seconds'])}.",
        "",
    ]
    judged = s["bars_met"] + s["bars_missed"]
    verdict = f"{s['bars_met']} of {judged} bars met" if judged else "No figure here has a bar"
    if s["bars_missed"]:
        verdict += f", **{s['bars_missed']} missed**"
    verdict += f"; {s['without_bar']} figures have no bar."
    if s["steps_failed"]:
        verdict += f" **Failed to run: {', '.join(s['steps_failed'])}** (see their logs)."
    out += [verdict, ""]
    for step in report["steps"]:
        out += [f"## {step['title']}", ""]
        out.append(
            f"`{step['command']}`: {step['seconds']:.0f} s, exit {step['exit_code']}; "
            f"full output in `{step['log']}`."
        )
        out.append("")
        rows = [f for f in report["figures"] if f["benchmark"] == step["name"]]
        if not rows:
            out += ["No figures were recorded.", ""]
            continue
        out += [
            "| figure | our result | bar | the plan's promise | pass/fail |",
            "| --- | --- | --- | --- | --- |",
        ]
        for f in rows:
            cells = (
                f["figure"],
                value_text(f["value"], f["unit"]),
                bar_text(f["bar"], f["unit"]),
                f["promise"] or "—",  # the plan promised nothing about it
                verdict_text(f["passed"]),
            )
            out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        out.append("")
    if report.get("latency_chart"):
        out += [
            "## Edit-propagation latency",
            "",
            "Each sample is one node seeing one edit (`bench-results/node_latency.json`).",
            "",
            f"![edit-propagation latency]({Path(report['latency_chart']).name})",
            "",
        ]
    if report.get("soak"):
        out += ["## Reliability", "", soak_text(report["soak"]), ""]
    return "\n".join(out)


def soak_text(soak: Record) -> str:
    """One paragraph from bench-results/soak.json (scripts/soak's summary)."""
    faults = soak.get("faults", {})
    listed = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in faults.items())
    failed = soak.get("failed_seeds") or []
    commits = ", ".join(soak.get("commits", [])) or "unknown"
    return (
        f"Reliability: soak (`scripts/soak`, profile {soak.get('profile', '?')}, on commit(s) "
        f"{commits}; not re-run by scripts/bench): {soak.get('seeds', 0):,} seeds, "
        f"{soak.get('writes', 0):,} writes confirmed ({soak.get('refused', 0):,} refused), "
        f"{soak.get('forgeries', 0):,} forgeries, {sum(faults.values()):,} faults injected"
        + (f" ({listed})" if listed else "")
        + f"; violations {soak.get('violations', '?')}; failed seeds "
        + (", ".join(map(str, failed)) if failed else "none")
        + f"; converged within {soak.get('max_heartbeats_to_converge', '?')} heartbeats of "
        f"the heal; {_duration(soak.get('seconds', 0))} of seed runs."
    )


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def draw_latency(latency: Record, out: Path) -> None:
    """latency.png: histogram and CDF of the per-node arrival latencies of both edit paths,
    each path's p50/p99 marked, the 50 ms / 250 ms bars drawn."""
    from matplotlib.figure import Figure  # noqa: PLC0415 (optional: the `bench` extra)

    series = [
        (name, sorted(latency[key]["samples_per_node_ms"]), latency[key].get("to_all_ms") or {}, c)
        for name, key, c in (
            ("pushed by its author", "pushed", "tab:blue"),
            ("saved by another program", "refreshed", "tab:orange"),
        )
        if latency.get(key, {}).get("samples_per_node_ms")
    ]
    if not series:
        raise ValueError("node_latency.json holds no samples")
    every = [v for _, samples, _, _ in series for v in samples]
    lo, hi = max(0.1, min(every) * 0.9), max(300.0, max(every) * 1.1)
    bins = [lo * (hi / lo) ** (i / 48) for i in range(49)]
    fig = Figure(figsize=(12, 5), layout="constrained")
    hist, cdf = fig.subplots(1, 2)
    for name, samples, to_all, colour in series:
        label = f"{name}: {len(samples)} arrivals"
        if to_all:
            label += f"\n  visible at all: p50 {to_all['p50']:.1f}, p99 {to_all['p99']:.1f} ms"
        hist.hist(samples, bins=bins, alpha=0.55, color=colour, label=label)
        p50, p99 = _nearest_rank(samples, 50), _nearest_rank(samples, 99)
        ys = [(i + 1) / len(samples) for i in range(len(samples))]
        cdf.step(samples, ys, where="post", color=colour,
                 label=f"{name}\n  at each node: p50 {p50:.1f}, p99 {p99:.1f} ms")  # fmt: skip
        cdf.plot([p50, p99], [0.5, 0.99], "o", color=colour, markersize=5)
        for mark in (p50, p99):
            cdf.axvline(mark, color=colour, linestyle=":", linewidth=1)
    _latency_axes(hist, lo, hi)
    _latency_axes(cdf, lo, hi)
    top = max(patch.get_height() for patch in hist.patches)
    hist.set_ylim(0, top * 1.45)  # room for the legend above the bars
    hist.set_ylabel("arrivals")
    hist.set_title("distribution of arrivals (one node seeing one edit)")
    hist.legend(fontsize=8, loc="upper left")
    cdf.set_ylabel("fraction of arrivals")
    cdf.set_ylim(0, 1.02)
    cdf.set_title("CDF; dots and dotted lines: p50 and p99 at each node")
    cdf.legend(fontsize=8, loc="lower right")
    cdf.grid(alpha=0.3)
    fig.suptitle(
        f"Edit propagation: {latency.get('nodes', '?')} nodes ({latency.get('topology', '?')}), "
        f"{latency.get('edits_per_path', '?')} edits per path; the bars apply to 'visible at "
        "all' (the last node)",
        fontsize=11,
    )
    fig.savefig(out, dpi=110)


def _latency_axes(ax: Any, lo: float, hi: float) -> None:
    """Log x from lo to hi with plain tick labels, and the two bars."""
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ticks = [t for t in (0.5, 1, 2, 5, 10, 20, 50, 100, 250, 500, 1000, 2500) if lo <= t <= hi]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("latency, commit to visible at a node (ms, log scale)")
    for at, label in LATENCY_BARS:
        ax.axvline(at, color="tab:red", linestyle="--", linewidth=1.2)
        ax.text(at, 0.98, f" {label}", transform=ax.get_xaxis_transform(), color="tab:red",
                fontsize=8, va="top", rotation=90, ha="right")  # fmt: skip


def _nearest_rank(ordered: list[float], p: float) -> float:
    """benchlib.pct on sorted values (kept here so this module stands alone)."""
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
