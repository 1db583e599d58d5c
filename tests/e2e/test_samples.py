"""Each sample deploys on the local cloud, answers through the load balancer, and is destroyed
leaving zero tagged resources, zero processes and zero sandbox files."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
from hivemind.adapters.aws import client
from hivemind.adapters.tagging import TaggedResources
from hivemind.cli import commands
from hivemind.models.tasks import DeployOptions

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
BROKEN = ROOT / "tests" / "fixtures" / "broken"

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FAST = DeployOptions(poll_interval_s=1)


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback URL from the stack
        return resp.status, resp.read().decode()


def _processes_under(path: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = str((entry / "cwd").readlink())
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X") and (path in cmd or cwd.startswith(path)):
            found.append(cmd)
    return found


def _assert_nothing_left(target, deployment_id: str) -> None:
    """Nothing of this deployment remains (other tests' deployments in the module's cloud are theirs)."""
    assert TaggedResources().arns(deployment_id) == []
    ec2 = client("ec2")
    instances = [i for r in ec2.describe_instances(Filters=[
        {"Name": "tag:hivemind:deployment-id", "Values": [deployment_id]}])["Reservations"] for i in r["Instances"]]
    assert [i["InstanceId"] for i in instances if i["State"]["Name"] != "terminated"] == []
    stack = f"hm-{deployment_id}"
    assert not [lb for lb in client("elbv2").describe_load_balancers()["LoadBalancers"]
                if stack in lb["LoadBalancerName"] or deployment_id in lb["LoadBalancerName"]]
    assert client("rds").describe_db_instances()["DBInstances"] == [] or all(
        deployment_id not in d["DBInstanceIdentifier"] for d in client("rds").describe_db_instances()["DBInstances"])
    state_dir = Path(target.state_dir)
    # Its instances' sandboxes, and any sandbox that ever ran it (its logs carry the deployment id).
    sandboxes = [p for p in (state_dir / "instances").glob("*") if p.is_dir()] if (state_dir / "instances").exists() else []
    ours = {i["InstanceId"] for i in instances}
    assert [p for p in sandboxes if p.name in ours or (p / "var" / "log" / "hivemind" / deployment_id).exists()] == []
    for sub in ("rds", "rds-snapshots"):
        leftovers = [p for p in (state_dir / sub).glob("*") if deployment_id in p.name] if (state_dir / sub).exists() else []
        assert leftovers == [], f"{sub}: {leftovers}"
    assert [cmd for iid in ours for cmd in _processes_under(str(state_dir / "instances" / iid))] == []


@pytest.mark.parametrize(
    ("example", "expected"),
    [
        ("flask-hello", "Hello from flask-hello on HiveMind!"),
        ("express-hello", "Hello from express-hello on HiveMind!"),
        ("go-hello", "Hello from go-hello on HiveMind!"),
        ("fastapi-postgres", "Hello from fastapi-postgres on HiveMind!"),
    ],
)
def test_sample_deploys_answers_and_destroys_clean(local_target, example: str, expected: str) -> None:
    outcome = commands.deploy(local_target, str(EXAMPLES / example), options=FAST, timeout_s=900)
    assert outcome.ok, outcome.error
    assert outcome.status == "succeeded" and outcome.stage == "report"
    assert outcome.url and outcome.url.startswith("http://127.0.0.1:")
    status, body = _get(outcome.url)
    assert status == 200 and expected in body
    if example == "fastapi-postgres":
        # the app used the real PostgreSQL on this request and the one before
        first = json.loads(body)
        second = json.loads(_get(outcome.url)[1])
        assert second["visits"] == first["visits"] + 1 and first["db"].startswith("postgres")

    state = commands.status(local_target, outcome.id)
    assert state.release is not None and state.release.id == "r-1"

    gone = commands.destroy(local_target, outcome.id, timeout_s=600)
    assert gone.ok, gone.error
    assert gone.status == "destroyed"
    snapshots = _final_snapshots(outcome.id)
    assert len(snapshots) == (1 if example == "fastapi-postgres" else 0)
    for snapshot in snapshots:  # the user's data, kept on purpose; deleting it is the user's call
        client("rds").delete_db_snapshot(DBSnapshotIdentifier=snapshot)
    _assert_nothing_left(local_target, outcome.id)


def _final_snapshots(deployment_id: str) -> list[str]:
    return [r["arn"].rsplit(":", 1)[-1] for r in TaggedResources().arns(deployment_id) if ":snapshot:" in r["arn"]]


def test_redeploy_of_an_unchanged_repo_reuses_the_deployment_and_release(local_target) -> None:
    first = commands.deploy(local_target, str(EXAMPLES / "go-hello"), options=FAST, timeout_s=600)
    assert first.ok, first.error
    again = commands.deploy(local_target, str(EXAMPLES / "go-hello"), options=FAST, timeout_s=600)
    assert again.ok, again.error
    assert again.id == first.id and again.release == first.release
    assert "go-hello" in _get(again.url)[1]
    harden_logs = [e["message"] for e in commands.logs(local_target, first.id)["stage_logs"] if e["stage"] == "harden"]
    assert sum("succeeded on 1 instance" in m for m in harden_logs) == 1  # the first deploy hardened it
    assert any("already hardened" in m for m in harden_logs)  # the redeploy did not send it again
    assert commands.destroy(local_target, first.id, timeout_s=600).ok
    _assert_nothing_left(local_target, first.id)


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [
        ("crash-on-start", "app_exited"),
        ("wrong-port", "port_mismatch"),
        ("localhost-only", "bind_mismatch"),
    ],
)
def test_broken_app_fails_at_a_named_stage_with_a_remediation(local_target, fixture: str, kind: str) -> None:
    started = time.monotonic()
    outcome = commands.deploy(local_target, str(BROKEN / fixture), options=FAST, timeout_s=600)
    assert not outcome.ok
    assert outcome.status == "failed" and outcome.stage == "deploy"
    assert outcome.error and outcome.error["type"] == "CommandFailed"
    assert kind in outcome.error["message"]
    assert outcome.error["remediation"]
    assert time.monotonic() - started < 600  # bounded: the pipeline ended by itself
    state_dir = Path(local_target.state_dir)
    assert _processes_under(str(state_dir / "instances")) == [] or all(
        "python app.py" not in p for p in _processes_under(str(state_dir / "instances")))
    gone = commands.destroy(local_target, outcome.id, timeout_s=600)
    assert gone.ok, gone.error
    _assert_nothing_left(local_target, outcome.id)
