"""Benchmark: `hivemind deploy` on the local cloud against installing and starting the app by hand.

Goals (issue 4): first deploy <= 1.3x the bare path; a redeploy of an unchanged commit <= bare + 2 s.

For each sample in examples/ and each repeat, side by side in one run:

(a) bare - what a person does in a fresh temp dir: copy the sample, install its dependencies with
    the same toolchain the install script uses (python: ``python3.X -m venv .venv`` +
    ``pip install --quiet -r requirements.txt``; node: ``npm ci --no-audit --no-fund``; go: the
    detected build command), start it with its detected start command (``PORT`` and
    ``HOST=127.0.0.1`` set; ``DATABASE_URL`` for fastapi-postgres) and poll ``GET /`` every 50 ms
    until the first 200. fastapi-postgres first gets a throwaway PostgreSQL started with the local
    cloud's own ``hivemind.local.rds.start_server`` (initdb + pg_ctl + createdb, as a non-root user
    when we are root); its start is counted in (a), since the deploy starts one too.
(b) deploy - ``commands.deploy`` (the real CLI code path) on a local cloud started once beforehand
    (its ``up`` time is reported apart, not counted), with ``DeployOptions(poll_interval_s=1)``,
    timed from the call until it returns with the deployment ``succeeded`` (verify passed, report
    written). The repo is a throw-away git repository with one commit of the sample.
(c) redeploy - the same call again for the unchanged commit (same repo path), timed the same way.

Cache state, the same kind for both: COLD. The install script keeps pip/npm/go caches under the
instance sandbox (``$HIVEMIND_ROOT/var/cache/hivemind``), and a first deploy gets a new instance,
so its caches start empty. The bare path gets fresh empty ``PIP_CACHE_DIR``, ``npm_config_cache``,
``GOCACHE``, ``GOMODCACHE`` and ``GOPATH`` in its temp dir, plus the same quiet/no-fund/no-audit
settings the script exports. Everything else (pip.conf find-links and indexes, ~/.npmrc, the npm
registry) is the machine's, and both paths see it. The redeploy's caches are the deploy's own
(warm), which is the point of goal (c).

Order within a repeat: the deploy and redeploy run first, then the deployment is destroyed, then
the bare path: whatever the OS page cache gains from a run goes to the bare path, so the ratio is
not flattered. The breakdown splits the first deploy by its stage log timestamps and the SSM
command times (``GetCommandInvocation``). Every deployment is destroyed, every bare app and
PostgreSQL stopped and the local cloud stopped, even on errors, Ctrl-C or SIGTERM. The bench's
local cloud has its own state dir and numbers its instances from a random 127.N.0.1 (see
``own_address_range``), so it can run beside another local cloud on the same machine.

    python bench/local_deploy.py [--apps flask-hello,go-hello] [--repeat N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lambdas"))

from hivemind.analysis import analyze_directory  # noqa: E402
from hivemind.errors import HiveMindError  # noqa: E402
from hivemind.models import TechStack  # noqa: E402
from hivemind.models.tasks import DeployOptions  # noqa: E402

APPS = ("flask-hello", "express-hello", "go-hello", "fastapi-postgres")
RATIO_GOAL = 1.3
REDEPLOY_SLACK_S = 2.0
POLL_INTERVAL_S = 1
BARE_POLL_S = 0.05
BARE_TIMEOUT_S = 300.0
DEPLOY_TIMEOUT_S = 900.0
HOST = "127.0.0.1"
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid", "GIT_CONFIG_NOSYSTEM": "1"}
# The tool settings install-release.sh exports besides its cache dirs (setup_environment).
TOOL_ENV = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", "npm_config_update_notifier": "false",
            "npm_config_fund": "false", "npm_config_audit": "false", "PYTHONDONTWRITEBYTECODE": "1"}
# Breakdown segments of a deploy, in pipeline order.
SEGMENTS = ("start", "analyze+plan", "provision", "deploy", "  script", "harden", "  script ", "verify+report",
            "return")


class BenchError(RuntimeError):
    """A run did not reach its goal state (the app never answered, or the deploy failed)."""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(argv: list[str], *, cwd: Path, env: dict[str, str], what: str, timeout: float = 600) -> None:
    """Run one install/build step; a failure names the step and shows its output."""
    try:
        result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)  # noqa: S603
    except subprocess.TimeoutExpired:
        raise BenchError(f"{what} did not finish within {timeout:.0f} s") from None
    if result.returncode != 0:
        raise BenchError(f"{what} failed (exit {result.returncode}): {(result.stderr or result.stdout)[-1500:]}")


def http_status(url: str, timeout: float = 1.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback URL
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError, ValueError):
        return None


# --- (a) bare ----------------------------------------------------------------------------------
def python_for(app: Path) -> str:
    """The interpreter the install script picks: python3.X from .python-version when present, else python3."""
    version_file = app / ".python-version"
    if version_file.exists():
        want = ".".join(version_file.read_text().strip().split(".")[:2])
        if want.startswith("3.") and shutil.which(f"python{want}"):
            return f"python{want}"
    return "python3"


def install_deps(stack: TechStack, app: Path, env: dict[str, str]) -> str:
    """Install the dependencies and build as the install script would; return the PATH prefix for the app."""
    if stack.language == "python":
        if stack.package_manager != "pip":
            raise BenchError(f"the bench installs pip projects only, not {stack.package_manager}")
        run([python_for(app), "-m", "venv", ".venv"], cwd=app, env=env, what="python -m venv")
        if (app / "requirements.txt").exists():
            run([str(app / ".venv/bin/pip"), "install", "--quiet", "-r", "requirements.txt"], cwd=app, env=env,
                what="pip install")
        bin_dir = str(app / ".venv/bin")
    elif stack.language == "node":
        command = "ci" if (app / "package-lock.json").exists() else "install"
        run(["npm", command, "--no-audit", "--no-fund"], cwd=app, env=env, what=f"npm {command}")
        bin_dir = str(app / "node_modules/.bin")
    elif stack.language == "go":
        bin_dir = str(app / "bin")
    else:
        raise BenchError(f"no bare recipe for language {stack.language}")
    if stack.build_command:
        run(["bash", "-c", stack.build_command], cwd=app, env={**env, "PATH": f"{bin_dir}:{env['PATH']}"},
            what=f"build ({stack.build_command})")
    return bin_dir


def start_postgres(work: Path) -> tuple[Any, str]:
    """A throwaway PostgreSQL, started exactly as the local cloud's RDS does it; returns (server, DATABASE_URL)."""
    from hivemind.local import rds
    from hivemind.local.context import LocalContext, set_context

    set_context(LocalContext(state_dir=work, port=0))
    password = secrets.token_hex(16)
    server = rds.start_server(f"bench-{secrets.token_hex(3)}", "bench", password, "app")
    return server, f"postgresql://bench:{password}@{HOST}:{server.port}/app"


def bare(name: str, stack: TechStack, work: Path, cleanup: contextlib.ExitStack) -> float:
    """Seconds from an empty temp dir to the first 200 on / of the app started by hand."""
    from hivemind.local import procs

    base = Path(tempfile.mkdtemp(prefix=f"bare-{name}-", dir=work))
    cleanup.callback(shutil.rmtree, base, True)
    cache = base / "cache"
    # The person's shell: not the local cloud's client settings this process holds.
    mine = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HIVEMIND_"))}
    env = {**mine, **TOOL_ENV, "PIP_CACHE_DIR": str(cache / "pip"), "npm_config_cache": str(cache / "npm"),
           "GOCACHE": str(cache / "go-build"), "GOMODCACHE": str(cache / "go-mod"), "GOPATH": str(cache / "go")}
    app = base / "app"
    port = procs.free_port(HOST)
    with contextlib.ExitStack() as stops:
        started = time.monotonic()
        shutil.copytree(ROOT / "examples" / name, app, symlinks=True)
        app_env = {"PORT": str(port), "HOST": HOST}
        if stack.database == "postgres":
            from hivemind.local import rds

            server, url = start_postgres(base / "pg")
            stops.callback(rds.stop_server, server, remove=True)
            app_env["DATABASE_URL"] = url
        bin_dir = install_deps(stack, app, env)
        app_env["PATH"] = f"{bin_dir}:{env['PATH']}"
        with open(base / "app.log", "wb") as out:
            proc = subprocess.Popen(  # noqa: S603 - the sample's own start command, as a person types it
                ["bash", "-c", stack.start_command], cwd=app, env={**env, **app_env}, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        stops.callback(procs.stop_group, proc.pid, timeout=10)
        url = f"http://{HOST}:{port}/"
        deadline = started + BARE_TIMEOUT_S
        while http_status(url) != 200:
            if proc.poll() is not None:
                raise BenchError(f"bare {name} exited with {proc.returncode}: {(base / 'app.log').read_text()[-1500:]}")
            if time.monotonic() > deadline:
                raise BenchError(f"bare {name} did not answer 200 on {url} within {BARE_TIMEOUT_S:.0f} s")
            time.sleep(BARE_POLL_S)
        return time.monotonic() - started


# --- (b)/(c) hivemind deploy -------------------------------------------------------------------
def git_repo(name: str, work: Path) -> Path:
    """The sample committed to a throw-away git repository (the 'user's repo' both deploys use)."""
    repo = work / "repos" / name
    shutil.copytree(ROOT / "examples" / name, repo, symlinks=True)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "bench"]):
        subprocess.run(["git", *args], cwd=repo, env=GIT_ENV, check=True, capture_output=True)  # noqa: S603
    return repo


def timed_deploy(target: Any, repo: Path) -> tuple[float, Any, float]:
    """(seconds, outcome, wall-clock start) of one `hivemind deploy` until it returns succeeded."""
    from hivemind.cli import commands

    wall = time.time()
    started = time.monotonic()
    outcome = commands.deploy(target, str(repo), options=DeployOptions(poll_interval_s=POLL_INTERVAL_S),
                              timeout_s=DEPLOY_TIMEOUT_S)
    elapsed = time.monotonic() - started
    if not outcome.ok or outcome.status != "succeeded":
        raise BenchError(f"deploy of {repo.name} ended {outcome.status}/{outcome.execution_status}: {outcome.error}")
    if http_status(outcome.url or "", timeout=5) != 200:
        raise BenchError(f"deploy of {repo.name} succeeded but {outcome.url} does not answer 200")
    return elapsed, outcome, wall


def _command_seconds(command_id: str | None) -> float | None:
    """ExecutionElapsedTime of an SSM command (the script's own run time on the instance)."""
    if not command_id:
        return None
    from hivemind.adapters.aws import client

    ssm = client("ssm")
    with contextlib.suppress(Exception):
        invocations = ssm.list_command_invocations(CommandId=command_id)["CommandInvocations"]
        if invocations:
            inv = ssm.get_command_invocation(CommandId=command_id, InstanceId=invocations[0]["InstanceId"])
            start, end = inv.get("ExecutionStartDateTime"), inv.get("ExecutionEndDateTime")
            if start and end:
                return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    return None


def breakdown(target: Any, deployment_id: str, wall_start: float, total: float, entries_before: int) -> dict[str, float]:
    """Split one deploy by its stage log: seconds per segment (see SEGMENTS)."""
    from hivemind.cli import commands

    entries = commands.logs(target, deployment_id)["stage_logs"][entries_before:]
    at = [(e["stage"], datetime.fromisoformat(e["at"].replace("Z", "+00:00")).timestamp(), e) for e in entries]
    first: dict[str, float] = {}
    commands_by_stage: dict[str, str] = {}
    for stage, ts, entry in at:
        first.setdefault(stage, ts)
        command_id = (entry.get("data") or {}).get("command_id")
        if not command_id and entry["message"].startswith("command "):  # "command <id> succeeded on ..."
            command_id = entry["message"].split()[1]
        if command_id:
            commands_by_stage.setdefault(stage, command_id)
    end = wall_start + total
    marks = [wall_start, at[0][1], first.get("provision"), first.get("deploy"), first.get("harden"),
             first.get("verify"), first.get("report", end), end]
    if any(m is None for m in marks):
        return {}
    t = [float(m) for m in marks]  # type: ignore[arg-type]
    out = {"start": t[1] - t[0], "analyze+plan": t[2] - t[1], "provision": t[3] - t[2], "deploy": t[4] - t[3],
           "harden": t[5] - t[4], "verify+report": t[6] - t[5], "return": t[7] - t[6]}
    for key, stage in (("  script", "deploy"), ("  script ", "harden")):
        seconds = _command_seconds(commands_by_stage.get(stage))
        if seconds is not None:
            out[key] = seconds
    return out


def destroy(target: Any, deployment_id: str) -> float:
    """Destroy the deployment (and the final DB snapshot destroy keeps on purpose); seconds taken."""
    from hivemind.adapters.aws import client
    from hivemind.adapters.tagging import TaggedResources
    from hivemind.cli import commands

    started = time.monotonic()
    gone = commands.destroy(target, deployment_id, timeout_s=600)
    elapsed = time.monotonic() - started
    if not gone.ok:
        raise BenchError(f"destroy of {deployment_id} failed: {gone.error}")
    for resource in TaggedResources().arns(deployment_id):
        if ":snapshot:" in resource["arn"]:
            client("rds").delete_db_snapshot(DBSnapshotIdentifier=resource["arn"].rsplit(":", 1)[-1])
    return elapsed


# --- the run -----------------------------------------------------------------------------------
@dataclass
class AppResult:
    name: str
    bare: list[float] = field(default_factory=list)
    deploy: list[float] = field(default_factory=list)
    redeploy: list[float] = field(default_factory=list)
    destroy: list[float] = field(default_factory=list)
    parts: list[dict[str, float]] = field(default_factory=list)
    redeploy_parts: list[dict[str, float]] = field(default_factory=list)
    error: str | None = None


def bench_app(name: str, target: Any, work: Path, repeat: int, cleanup: contextlib.ExitStack,
              live: set[str]) -> AppResult:
    from hivemind.cli import commands

    result = AppResult(name)
    repo = git_repo(name, work)
    stack = analyze_directory(repo)
    for i in range(1, repeat + 1):
        seconds, outcome, wall = timed_deploy(target, repo)
        live.add(outcome.id)
        result.deploy.append(seconds)
        result.parts.append(breakdown(target, outcome.id, wall, seconds, 0))
        log(f"{name} #{i}: deploy {seconds:.2f} s ({outcome.id}, {outcome.release})")
        before = len(commands.logs(target, outcome.id)["stage_logs"])
        seconds, again, wall = timed_deploy(target, repo)
        if again.id != outcome.id or again.release != outcome.release:
            raise BenchError(f"the redeploy of {name} made {again.id}/{again.release}, not {outcome.id}/{outcome.release}")
        result.redeploy.append(seconds)
        result.redeploy_parts.append(breakdown(target, outcome.id, wall, seconds, before))
        log(f"{name} #{i}: redeploy {seconds:.2f} s")
        result.destroy.append(destroy(target, outcome.id))
        live.discard(outcome.id)
        log(f"{name} #{i}: destroyed in {result.destroy[-1]:.2f} s")
        result.bare.append(bare(name, stack, work, cleanup))
        log(f"{name} #{i}: bare {result.bare[-1]:.2f} s")
    return result


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def median_parts(parts: list[dict[str, float]]) -> dict[str, float]:
    keys = [k for k in SEGMENTS if any(k in p for p in parts)]
    return {k: median([p[k] for p in parts if k in p]) for k in keys}


def report(results: list[AppResult], up_s: float, repeat: int) -> bool:
    print(f"\nhivemind deploy on the local cloud vs. the bare path — median of {repeat} run(s); "
          f"DeployOptions(poll_interval_s={POLL_INTERVAL_S}); cold pip/npm/go caches on both sides")
    print(f"local cloud up (once, not counted): {up_s:.2f} s; load average now "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    header = (f"{'app':<18} {'bare s':>7} {'deploy s':>9} {'ratio b/a':>10} {'<=1.3':>6} "
              f"{'redeploy s':>11} {'<=bare+2':>9} {'destroy s':>10}")
    print(header)
    print("-" * len(header))
    all_ok = True
    for r in results:
        if r.error:
            print(f"{r.name:<18} ERROR: {r.error}")
            all_ok = False
            continue
        b, d, rd = median(r.bare), median(r.deploy), median(r.redeploy)
        ratio_ok, redeploy_ok = d / b <= RATIO_GOAL, rd <= b + REDEPLOY_SLACK_S
        all_ok = all_ok and ratio_ok and redeploy_ok
        print(f"{r.name:<18} {b:>7.2f} {d:>9.2f} {d / b:>9.2f}x {'yes' if ratio_ok else 'NO':>6} "
              f"{rd:>11.2f} {'yes' if redeploy_ok else 'NO':>9} {median(r.destroy):>10.2f}")
    print("-" * len(header))
    for title, attr in (("first deploy", "parts"), ("redeploy", "redeploy_parts")):
        rows = [(r.name, median_parts(getattr(r, attr))) for r in results if not r.error]
        keys = [k for k in SEGMENTS if any(k in parts for _, parts in rows)]
        if not keys:
            continue
        print(f"\nwhere the {title} time goes (s; 'script' = the SSM command's own run time inside the stage above)")
        head = f"{'app':<18} " + " ".join(f"{k.strip():>13}" for k in keys)
        print(head)
        print("-" * len(head))
        for name, parts in rows:
            print(f"{name:<18} " + " ".join(f"{parts[k]:>13.2f}" if k in parts else f"{'-':>13}" for k in keys))
    print(f"\ngoals {'all met' if all_ok else 'NOT all met'}: ratio <= {RATIO_GOAL} and redeploy <= bare + "
          f"{REDEPLOY_SLACK_S:.0f} s")
    return all_ok


def own_address_range(state_dir: Path) -> None:
    """Start this cloud's instance addresses at a random 127.N.0.1 (N in 100-199), not 127.1.0.1.

    Every local cloud numbers its instances from 127.1.0.1 in its own state dir, so two clouds on
    one machine (a test run, a developer's) give their first instances the same address, and the
    second app on the same port fails with port_in_use. The allocator's persisted counter
    (instances/ips.json, kept by the server at start) is seeded so this run does not collide.
    """
    from hivemind.local.agent import IP_FILE

    block = 254 * 256  # addresses per 127.N
    path = state_dir / "instances" / IP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"next": block * (99 + secrets.randbelow(100)), "ips": {}}))


def _raise_on_sigterm(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", default=",".join(APPS), help=f"comma-separated samples (default {','.join(APPS)})")
    parser.add_argument("--repeat", type=int, default=1, help="runs per app; the table shows medians (default 1)")
    args = parser.parse_args(argv)
    apps = [a.strip() for a in args.apps.split(",") if a.strip()]
    unknown = [a for a in apps if not (ROOT / "examples" / a).is_dir()]
    if unknown or not apps:
        parser.error(f"unknown sample(s) {unknown or apps}: choose from {', '.join(APPS)}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    signal.signal(signal.SIGTERM, _raise_on_sigterm)

    from hivemind.adapters.aws import client
    from hivemind.cli import target as target_mod
    from hivemind.local import cloud

    work = Path(tempfile.mkdtemp(prefix="hivemind-bench-deploy-"))
    saved_env = dict(os.environ)
    live: set[str] = set()
    results: list[AppResult] = []
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, work, True)
        state_dir = work / "cloud"
        os.environ["HIVEMIND_LOCAL_DIR"] = str(state_dir)
        cleanup.callback(client.cache_clear)
        cleanup.callback(lambda: (os.environ.clear(), os.environ.update(saved_env)))
        cleanup.callback(cloud.down, state_dir)
        own_address_range(state_dir)
        started = time.monotonic()
        target = target_mod.resolve(local=True)
        up_s = time.monotonic() - started
        log(f"local cloud up in {up_s:.2f} s at {target.endpoint_url} (state {state_dir})")

        def destroy_live() -> None:
            for deployment_id in sorted(live):
                with contextlib.suppress(Exception):
                    destroy(target, deployment_id)

        cleanup.callback(destroy_live)
        for name in apps:
            try:
                results.append(bench_app(name, target, work, args.repeat, cleanup, live))
            except (BenchError, HiveMindError, OSError, subprocess.SubprocessError) as exc:
                log(f"{name}: {exc}")
                results.append(AppResult(name, error=str(exc)))
                destroy_live()
                live.clear()
        ok = report(results, up_s, args.repeat)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
