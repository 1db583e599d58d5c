"""The local cloud keeps its state on disk: `local down`/`up` and a crash forget no deployment.

Real local cloud (its own state directory, started and stopped here), real sample apps, the
CLI in a subprocess as a user runs it. Every wait is bounded and names what it waited for.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hivemind.adapters.aws import client
from hivemind.local import cloud as local_cloud
from hivemind.local import persistence
from hm_local_testkit import processes_mentioning, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
APP_BACK_S = 180
PIPELINE = ["validate", "analyze", "plan", "provision", "deploy", "harden", "verify", "report"]  # an app restarted after `up`: install re-run ("already unpacked and built") + health check


class Cloud:
    """One state directory; ``up``/``down``/``crash`` it and talk to whichever server runs now."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.saved_env = dict(os.environ)
        self.running: local_cloud.LocalCloud | None = None

    @property
    def sandboxes(self) -> Path:
        return self.state_dir / "instances"

    def up(self) -> local_cloud.LocalCloud:
        self.running = local_cloud.up(self.state_dir)
        os.environ.update(local_cloud.client_env(self.running))  # the port changes at every start
        client.cache_clear()
        return self.running

    def down(self, *, purge: bool = False) -> None:
        local_cloud.down(self.state_dir, purge=purge)
        self.running = None

    def crash(self) -> None:
        """SIGKILL the server: no shutdown code runs (apps and PostgreSQL are left as orphans)."""
        pid = int((self.state_dir / local_cloud.PID_FILE).read_text())
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), 30, f"server {pid} to die")
        self.running = None

    def cli(self, *args: str, timeout: float = 900) -> tuple[int, Any]:
        """`hivemind <args> --json` in a subprocess; (exit code, parsed JSON output)."""
        env = {k: v for k, v in self.saved_env.items() if not k.startswith(("AWS_", "HIVEMIND_"))}
        env["HIVEMIND_LOCAL_DIR"] = str(self.state_dir)
        proc = subprocess.run([sys.executable, "-m", "hivemind.cli.main", *args, "--json"], env=env,  # noqa: S603
                              capture_output=True, text=True, timeout=timeout, check=False)
        try:
            return proc.returncode, json.loads(proc.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"`hivemind {' '.join(args)}` printed no JSON (exit {proc.returncode}):\n"
                        f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")

    def app_processes(self) -> list[tuple[int, str]]:
        return processes_mentioning(str(self.sandboxes))

    def tagged(self, deployment_id: str) -> list[str]:
        from hivemind.adapters.tagging import TaggedResources

        return [r["arn"] for r in TaggedResources().arns(deployment_id)]


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    state = Cloud(tmp_path_factory.mktemp("hm-persist"))
    state.up()
    try:
        yield state
    finally:
        state.down(purge=True)
        os.environ.clear()
        os.environ.update(state.saved_env)
        client.cache_clear()
    assert not state.app_processes(), "processes left in sandboxes after `local down --purge`"
    assert not persistence.has_snapshot(state.state_dir), "`local down --purge` left the emulator snapshot"


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback URL from the stack
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except OSError as exc:
        return 0, str(exc)


def _answers(url: str, text: str) -> str | None:
    status, body = _get(url)
    return body if status == 200 and text in body else None


def _deploy(local: Cloud, example: str) -> dict[str, Any]:
    code, out = local.cli("deploy", "--local", str(EXAMPLES / example), "--poll-interval", "1")
    assert code == 0 and out["status"] == "succeeded", out
    return out


def _destroy_leaves_nothing(local: Cloud, deployment_id: str) -> None:
    code, out = local.cli("destroy", deployment_id, "--yes", "--local", timeout=600)
    assert code == 0 and out["status"] == "destroyed", out
    for snapshot in (a.rsplit(":", 1)[-1] for a in local.tagged(deployment_id) if ":snapshot:" in a):
        client("rds").delete_db_snapshot(DBSnapshotIdentifier=snapshot)  # the kept final DB snapshot
    assert local.tagged(deployment_id) == []
    assert local.app_processes() == []
    assert [p.name for p in local.sandboxes.iterdir() if p.is_dir()] == []


def test_down_then_up_keeps_the_deployment_and_its_url(local: Cloud) -> None:
    out = _deploy(local, "flask-hello")
    url, deployment_id = out["url"], out["id"]
    assert _answers(url, "Hello from flask-hello")
    assert local.app_processes(), "the app should run in its sandbox before `down`"

    local.down()
    assert local.app_processes() == [], "`local down` must stop every app process"
    assert persistence.has_snapshot(local.state_dir)
    assert [p.name for p in local.sandboxes.iterdir() if p.is_dir()], "`local down` keeps the sandboxes"

    local.up()
    code, state = local.cli("status", deployment_id, "--local")
    assert code == 0 and state["status"] == "succeeded" and state["url"] == url
    body = wait_for(lambda: _answers(url, "Hello from flask-hello"), APP_BACK_S, f"{url} to answer after `up`", 1)
    assert "flask-hello" in body

    _destroy_leaves_nothing(local, deployment_id)


def test_crash_mid_deploy_marks_it_interrupted_and_retry_completes_it(local: Cloud) -> None:
    from hivemind.adapters.state_store import DynamoStateStore
    from hivemind.settings import get_settings

    code, started = local.cli("deploy", "--local", str(EXAMPLES / "flask-hello"), "--no-wait")
    assert code == 0, started
    deployment_id = started["id"]
    store = DynamoStateStore(get_settings().table_name)
    reached = wait_for(lambda: (s := store.find(deployment_id)) and s.stage in ("provision", "deploy") and s.stage,
                       300, f"deployment {deployment_id} to reach provision or deploy")
    # The snapshot is written in the background; wait for one taken after the stage was seen.
    seen_at = time.time()
    snapshot = persistence.snapshot_path(local.state_dir)
    wait_for(lambda: snapshot.stat().st_mtime > seen_at, 30, "an emulator snapshot after the stage was seen")
    last_seen = store.get(deployment_id).stage
    local.crash()

    local.up()
    state = DynamoStateStore(get_settings().table_name).get(deployment_id)
    assert state.status.value == "failed"
    # the stage it had reached: at least what was seen before that snapshot, at most what was seen at the kill
    assert PIPELINE.index(reached) <= PIPELINE.index(state.stage) <= PIPELINE.index(last_seen), \
        (reached, state.stage, last_seen)
    assert state.error is not None and state.error.type == "ExecutionInterrupted"
    assert state.error.stage == state.stage
    assert f"hivemind retry {deployment_id}` resumes at {state.stage}" in state.error.remediation
    execution = client("stepfunctions").describe_execution(executionArn=started["execution_arn"])
    assert execution["status"] == "ABORTED" and "local cloud stopped" in execution.get("cause", "")
    for command in client("ssm").list_commands()["Commands"]:
        assert command["Status"] not in ("Pending", "InProgress"), command
    assert local.app_processes() == [], "processes the crash left in the sandbox must be stopped at `up`"

    code, printed = local.cli("status", deployment_id, "--local")
    assert code == 0 and printed["error"]["type"] == "ExecutionInterrupted", printed

    code, retried = local.cli("retry", deployment_id, "--local")
    assert code == 0 and retried["status"] == "succeeded", json.dumps(
        {"retried": retried, "logs": local.cli("logs", deployment_id, "--local")[1].get("stage_logs", [])[-15:]},
        indent=1, default=str)
    assert _answers(retried["url"], "Hello from flask-hello")
    _destroy_leaves_nothing(local, deployment_id)


def test_postgres_data_survives_down_and_up(local: Cloud) -> None:
    out = _deploy(local, "fastapi-postgres")
    url, deployment_id = out["url"], out["id"]
    visits = 0
    for _ in range(40):  # far above what health checks alone add while the app comes back
        visits = json.loads(_answers(url, "fastapi-postgres") or "{}")["visits"]
    local.down()
    local.up()
    body = wait_for(lambda: _answers(url, "fastapi-postgres"), APP_BACK_S, f"{url} to answer after `up`", 1)
    after = json.loads(body)["visits"]
    assert after > visits >= 40, (visits, after)  # the counter went on: the data was kept
    _destroy_leaves_nothing(local, deployment_id)
