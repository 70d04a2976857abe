"""What every benchmark script under scripts/ prints the same way: percentiles and verdict lines."""

from __future__ import annotations


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def line(
    name: str, value: float, bar: float, unit: str = "ms", extra: str = "", width: int = 52
) -> bool:
    """Print one figure against its bar; True if it meets the bar."""
    ok = value <= bar
    verdict = "PASS" if ok else "FAIL"
    shown = f"{value:8.2f}" if unit == "s" else f"{value:8.1f}"
    print(f"{name:{width}} {shown} {unit:2}  (bar {bar:g} {unit}) {verdict}{extra}", flush=True)
    return ok
