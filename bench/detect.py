"""Benchmark: time to analyze each bundled example after cloning it (goal: under 50 ms each).

Each example under examples/ (or, when there are none, each fixture repo under
tests/fixtures/repos/) is committed to a throw-away git repository, cloned once with
``fetch_repository`` through a file:// URL (so the checkout has a real .git folder, as in
production), and then ``analyze_directory`` is timed N times on the checkout. The first call (which
also imports the detectors) is reported apart; the median and p90 are over the other runs.

    python bench/detect.py [--runs N] [PATH ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lambdas"))

from hivemind.adapters.repositories import fetch_repository  # noqa: E402
from hivemind.analysis import analyze_directory  # noqa: E402
from hivemind.analysis.files import RepoFiles  # noqa: E402
from hivemind.errors import HiveMindError  # noqa: E402

GOAL_MS = 50.0
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid", "GIT_CONFIG_NOSYSTEM": "1"}


def default_apps() -> list[Path]:
    examples = sorted(p for p in (ROOT / "examples").glob("*") if p.is_dir())
    if examples:
        return examples
    return sorted(p for p in (ROOT / "tests" / "fixtures" / "repos").glob("*") if p.is_dir() and p.name != "unsupported")


def clone(app: Path, work: Path) -> Path:
    """Commit ``app`` to a fresh git repo under ``work`` and clone it like a user's repository."""
    origin = work / f"{app.name}-origin"
    subprocess.run(["cp", "-a", str(app), str(origin)], check=True)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "bench"]):
        subprocess.run(["git", *args], cwd=origin, env=GIT_ENV, check=True, capture_output=True)
    return fetch_repository(origin.as_uri(), None, work / f"{app.name}-checkout").path


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def outcome(checkout: Path) -> str:
    """'language/framework', or the error type when the app is not deployable (still timed)."""
    try:
        stack = analyze_directory(checkout)
    except HiveMindError as exc:
        return f"({exc.type})"
    return f"{stack.language}/{stack.framework or '-'}"


def bench(checkout: Path, runs: int) -> tuple[float, list[float]]:
    start = time.perf_counter()
    outcome(checkout)
    first = (time.perf_counter() - start) * 1000
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        outcome(checkout)
        times.append((time.perf_counter() - start) * 1000)
    return first, times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="timed runs per app (default 50)")
    parser.add_argument("apps", nargs="*", type=Path, help="app folders (default: examples/*)")
    args = parser.parse_args(argv)
    apps = args.apps or default_apps()
    if not apps:
        print("no apps to benchmark", file=sys.stderr)
        return 1
    rows = []
    with tempfile.TemporaryDirectory(prefix="hivemind-bench-") as tmp:
        for app in apps:
            checkout = clone(app.resolve(), Path(tmp))
            first, times = bench(checkout, args.runs)
            rows.append((app.name, len(RepoFiles(checkout).files()), outcome(checkout),
                         first, statistics.median(times), percentile(times, 0.9)))
    print(f"analyze_directory after clone — {args.runs} runs each, goal {GOAL_MS:.0f} ms per repository")
    header = f"{'app':<24} {'files':>5} {'stack':<20} {'first ms':>9} {'median ms':>10} {'p90 ms':>8} {'median/goal':>12}"
    print(header)
    print("-" * len(header))
    for name, files, stack, first, median, p90 in rows:
        print(f"{name:<24} {files:>5} {stack:<20} {first:>9.2f} {median:>10.2f} {p90:>8.2f} {median / GOAL_MS:>11.3f}x")
    worst = max(row[4] for row in rows)
    print("-" * len(header))
    print(f"worst median {worst:.2f} ms = {worst / GOAL_MS:.3f}x the {GOAL_MS:.0f} ms goal "
          f"({'within' if worst < GOAL_MS else 'OVER'} the goal)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
