"""Cold-start cost of the Lambda handlers: import time per handler module and zipped code size.

    python bench/lambda_cold.py [--runs 5] [--no-pyc]

For each handler module ``hivemind.handlers.<task>`` (every task in hivemind.constants.TASKS plus
the API), ``python -X importtime -c "import <module>"`` runs in ``--runs`` fresh processes; the
cumulative time of the module's own top-level line (which includes its package parents and every
dependency it pulls in) is parsed and the median reported against the 300 ms goal. ``--no-pyc``
points each process at an empty bytecode cache, so every module is compiled as in Lambda, whose zip
asset carries no .pyc files. The zipped size is that of the code asset as CDK uploads it (the
``lambdas/`` directory with the stack's excludes) plus the deps layer when it is built, against the
20 MB goal. Numbers are from this machine, not from Lambda's arm64 CPUs: read them as ratios.

Each process gets the environment a HiveMind function has in Lambda: ``AWS_LAMBDA_FUNCTION_NAME``
and ``LAMBDA_TASK_ROOT`` set (so the X-Ray SDK takes its Lambda path, as it does there) and
tracing ON (the stack enables active tracing), so the import cost of the Tracer is counted.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import io
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hivemind.constants import API_FUNCTION, TASKS  # noqa: E402

from stacks.constants import CODE_EXCLUDES, LAMBDAS_DIR, LAYER_DIR  # noqa: E402

IMPORT_GOAL_MS = 300.0
SIZE_GOAL_MB = 20.0
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)\s*$")


def handler_module(task: str) -> str:
    return f"hivemind.handlers.{task.replace('-', '_')}"


def parse_importtime(stderr: str, module: str) -> float:
    """Cumulative milliseconds of ``module``'s top-level line in ``-X importtime`` output."""
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match and match.group(4) == module and len(match.group(3)) == 1:
            return int(match.group(2)) / 1000.0
    raise ValueError(f"no top-level import line for {module} (did the import fail?)\n{stderr[-2000:]}")


def heaviest_packages(stderr: str, top: int = 5) -> list[tuple[str, float]]:
    """Top-level packages (``boto3``, ``pydantic``...) by cumulative ms in one importtime output."""
    totals: dict[str, float] = {}
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match and "." not in match.group(4):
            name = match.group(4)
            totals[name] = max(totals.get(name, 0.0), int(match.group(2)) / 1000.0)
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]


def lambda_like_env(module: str) -> dict[str, str]:
    """The environment variables Lambda gives a HiveMind function (those that change what is imported)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_LAMBDA_", "_X_AMZN"))}
    env.update({
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": f"hivemind-{module.rsplit('.', 1)[-1]}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "LAMBDA_TASK_ROOT": str(ROOT / "lambdas"),
        "POWERTOOLS_SERVICE_NAME": "hivemind", "POWERTOOLS_METRICS_NAMESPACE": "HiveMind",
    })
    return env


def run_importtime(module: str, *, no_pyc: bool) -> str:
    """stderr of one fresh interpreter importing ``module`` with ``-X importtime``."""
    cmd = [sys.executable, "-X", "importtime"]
    with tempfile.TemporaryDirectory() as cache:
        if no_pyc:
            cmd += ["-X", f"pycache_prefix={cache}"]
        cmd += ["-c", f"import {module}"]
        env = lambda_like_env(module)
        result = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"import {module} failed: {result.stderr.strip().splitlines()[-1:]}")
    return result.stderr


# --- the code asset as CDK stages it -------------------------------------------------------------
def excluded(rel: str, patterns: Iterable[str]) -> bool:
    """CDK's glob excludes: a pattern matches the path, one of its parent directories, or (without a
    slash) any single path component."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        if any(fnmatch.fnmatchcase(p, pattern) or fnmatch.fnmatchcase(p, bare) for p in prefixes):
            return True
        if "/" not in bare and any(fnmatch.fnmatchcase(part, bare) for part in parts):
            return True
    return False


def asset_files(directory: Path, patterns: Iterable[str] = CODE_EXCLUDES) -> list[str]:
    patterns = list(patterns)
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*")
                  if p.is_file() and not excluded(p.relative_to(directory).as_posix(), patterns))


def zipped_bytes(directory: Path, files: list[str]) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for rel in files:
            archive.write(directory / rel, rel)
    return buffer.tell()


# --- report ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Import time of the handlers and size of the Lambda asset.")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per handler (default 5)")
    parser.add_argument("--no-pyc", action="store_true", help="compile every module in every run, as Lambda does")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    mode = "no .pyc (compiled each run)" if args.no_pyc else "warm .pyc cache"
    print(f"Import time of each handler module: median of {args.runs} fresh processes, {mode}, "
          f"Python {sys.version.split()[0]}")
    print(f"{'handler module':40} {'median ms':>10} {'min':>8} {'max':>8}  vs {IMPORT_GOAL_MS:.0f} ms")
    modules = {handler_module(t): t for t in (*TASKS, API_FUNCTION)}
    present = [m for m in modules if importlib.util.find_spec(m) is not None]
    times: dict[str, list[float]] = {m: [] for m in present}
    errors: dict[str, str] = {}
    last: dict[str, str] = {}
    for _ in range(args.runs):  # round-robin, so load on the machine spreads over all handlers
        for module in present:
            if module in errors:
                continue
            try:
                last[module] = run_importtime(module, no_pyc=args.no_pyc)
                times[module].append(parse_importtime(last[module], module))
            except (RuntimeError, ValueError) as exc:
                errors[module] = str(exc).splitlines()[0]
    medians: dict[str, float] = {}
    for module in modules:
        if module not in times:
            print(f"{module:40} {'missing':>10}")
        elif module in errors:
            print(f"{module:40} {'error':>10}  {errors[module]}")
        else:
            medians[module] = statistics.median(times[module])
            print(f"{module:40} {medians[module]:10.1f} {min(times[module]):8.1f} {max(times[module]):8.1f}  "
                  f"{medians[module] / IMPORT_GOAL_MS:5.2f}x")
    if medians:
        worst = max(medians, key=medians.__getitem__)
        print(f"slowest: {worst} {medians[worst]:.1f} ms = {medians[worst] / IMPORT_GOAL_MS:.2f} x the "
              f"{IMPORT_GOAL_MS:.0f} ms goal ({'met' if medians[worst] <= IMPORT_GOAL_MS else 'NOT met'})")
        heavy = ", ".join(f"{name} {ms:.0f} ms" for name, ms in heaviest_packages(last[worst]))
        print(f"heaviest top-level packages in its last run: {heavy}")

    code_files = asset_files(LAMBDAS_DIR)
    code = zipped_bytes(LAMBDAS_DIR, code_files)
    print(f"\n{'zipped asset':40} {'MB':>10}")
    print(f"{'code (lambdas/, CDK excludes)':40} {code / 1e6:10.2f}   {len(code_files)} files")
    total = code
    if (LAYER_DIR / "python").is_dir():
        layer_files = asset_files(LAYER_DIR, ())
        layer = zipped_bytes(LAYER_DIR, layer_files)
        total += layer
        print(f"{'deps layer (build/layer)':40} {layer / 1e6:10.2f}   {len(layer_files)} files")
    else:
        print(f"{'deps layer (build/layer)':40} {'not built':>10}   (python -m stacks.build_layer)")
    print(f"{'total':40} {total / 1e6:10.2f}   = {total / 1e6 / SIZE_GOAL_MB:.3f} x the {SIZE_GOAL_MB:.0f} MB goal "
          f"({'met' if total / 1e6 <= SIZE_GOAL_MB else 'NOT met'})")
    print("(the public Powertools layer is not ours to upload and is not counted)")
    print(f"\nbench time: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
