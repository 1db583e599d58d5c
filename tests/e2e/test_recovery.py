"""Going back and getting unstuck on the local cloud: rollback to the previous release (by hand and
automatic after a failed update), destroy --skip-snapshot, and stacks stuck in a failed state."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from hivemind.adapters.aws import client
from hivemind.cli import commands
from hivemind.errors import InvalidInput
from hivemind.models import DeploymentStatus
from hivemind.models.tasks import DeployOptions
from test_samples import EXAMPLES, FAST, _assert_nothing_left, _get

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@example.invalid", "PATH": "/usr/bin:/bin"})


def _go_app(tmp_path: Path, greeting: str) -> Path:
    """A copy of go-hello in its own git repository, answering ``greeting`` at ``/``."""
    repo = tmp_path / "app"
    shutil.copytree(EXAMPLES / "go-hello", repo)
    _set_greeting(repo, greeting)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", greeting)
    return repo


def _set_greeting(repo: Path, greeting: str) -> None:
    main = repo / "main.go"
    text = main.read_text()
    start = text.index('const greeting = "') + len('const greeting = "')
    main.write_text(text[:start] + greeting + text[text.index('"', start):])


def _commit(repo: Path, message: str) -> None:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)


def _wait_status(target, dep_id: str, done, timeout_s: float = 300):
    deadline = time.monotonic() + timeout_s
    while True:
        state = commands.status(target, dep_id)
        if done(state):
            return state
        assert time.monotonic() < deadline, f"{dep_id} still {state.status.value} at {state.stage}"
        time.sleep(0.5)


def test_rollback_returns_to_the_previous_release(local_target, tmp_path: Path) -> None:
    repo = _go_app(tmp_path, "version one")
    first = commands.deploy(local_target, str(repo), options=FAST, timeout_s=600)
    assert first.ok, first.error
    with pytest.raises(InvalidInput, match="no earlier successful release"):
        commands.rollback(local_target, first.id)

    _set_greeting(repo, "version two")
    _commit(repo, "two")
    second = commands.deploy(local_target, str(repo), options=FAST, timeout_s=600)
    assert second.ok, second.error
    assert (second.id, second.release) == (first.id, "r-2")
    assert _get(second.url)[1] == "version two"

    back = commands.rollback(local_target, first.id, timeout_s=600)
    assert back.ok, back.error
    assert back.release == "r-1" and back.url == first.url
    assert _get(back.url)[1] == "version one"
    state = commands.status(local_target, first.id)
    assert state.previous_release is not None and state.previous_release.id == "r-2"
    assert [g.release.id for g in state.good_releases] == ["r-2", "r-1"]

    gone = commands.destroy(local_target, first.id, timeout_s=600)
    assert gone.ok, gone.error
    _assert_nothing_left(local_target, first.id)


def test_a_failed_update_with_auto_rollback_returns_to_the_last_good_release(local_target, tmp_path: Path) -> None:
    repo = _go_app(tmp_path, "still good")
    first = commands.deploy(local_target, str(repo), options=FAST, timeout_s=600)
    assert first.ok, first.error

    main = repo / "main.go"  # the update crashes on start
    main.write_text(main.read_text().replace("func main() {", 'func main() {\n\tlog.Fatal("boom: bad config")', 1))
    _commit(repo, "broken")
    options = DeployOptions(poll_interval_s=1, auto_rollback=True)
    broken = commands.deploy(local_target, str(repo), options=options, timeout_s=600)
    assert not broken.ok and broken.stage == "deploy"
    assert broken.error and "app_exited" in broken.error["message"]

    # The Rollback task started a deploy execution of the last good release.
    state = _wait_status(local_target, first.id, lambda s: s.status is DeploymentStatus.SUCCEEDED)
    assert state.release is not None and state.release.id == "r-1"
    assert _get(first.url)[1] == "still good"
    logs = commands.logs(local_target, first.id)["stage_logs"]
    assert any("auto-rollback: going back to r-1" in m["message"] for m in logs)

    gone = commands.destroy(local_target, first.id, timeout_s=600)
    assert gone.ok, gone.error
    _assert_nothing_left(local_target, first.id)


def test_destroy_skip_snapshot_keeps_no_final_snapshot(local_target) -> None:
    outcome = commands.deploy(local_target, str(EXAMPLES / "fastapi-postgres"), options=FAST, timeout_s=900)
    assert outcome.ok, outcome.error
    gone = commands.destroy(local_target, outcome.id, timeout_s=600, skip_snapshot=True)
    assert gone.ok, gone.error
    assert gone.status == "destroyed"
    snapshots = client("rds").describe_db_snapshots()["DBSnapshots"]
    assert [s["DBSnapshotIdentifier"] for s in snapshots if outcome.id in s["DBSnapshotIdentifier"]] == []
    _assert_nothing_left(local_target, outcome.id)


BROKEN = EXAMPLES.parent / "tests" / "fixtures" / "broken"


def test_retry_fix_uses_the_port_the_app_really_listens_on(local_target) -> None:
    failed = commands.deploy(local_target, str(BROKEN / "wrong-port"), options=FAST, timeout_s=600)
    assert not failed.ok and failed.stage == "deploy"
    state = commands.status(local_target, failed.id)
    assert state.diagnosis is not None and state.diagnosis.rule == "wrong-port"
    assert state.diagnosis.fixable and state.diagnosis.fix == {"kind": "set_port", "port": 5999}

    fixed = commands.retry(local_target, failed.id, fix=True, timeout_s=600)
    assert fixed.ok, fixed.error
    assert _get(fixed.url)[1] == "wrong-port"
    state = commands.status(local_target, failed.id)
    assert state.plan is not None and state.plan.port == 5999 and state.retries == 1
    with pytest.raises(InvalidInput, match="only a failed deployment"):
        commands.retry(local_target, failed.id, fix=True)

    gone = commands.destroy(local_target, failed.id, timeout_s=600)
    assert gone.ok, gone.error
    _assert_nothing_left(local_target, failed.id)


def test_deploy_auto_fix_applies_the_safe_fix_by_itself(local_target, tmp_path: Path) -> None:
    repo = tmp_path / "wrong-port"
    shutil.copytree(BROKEN / "wrong-port", repo)  # another repository: a deployment of its own
    options = DeployOptions(poll_interval_s=1, auto_fix=True)
    shown: list[str] = []
    # The CLI follows the fixing retry that Diagnose starts: the user waits for one end, the fixed one.
    fixed = commands.deploy(local_target, str(repo), options=options, timeout_s=600,
                            on_log=lambda e: shown.append(e.message))
    assert fixed.ok, fixed.error
    assert fixed.auto_fixed_from is not None and fixed.auto_fixed_from != fixed.execution_arn
    assert client("stepfunctions").describe_execution(executionArn=fixed.auto_fixed_from)["status"] == "FAILED"
    state = commands.status(local_target, fixed.id)
    assert state.plan is not None and state.plan.port == 5999 and state.retries == 1
    assert _get(fixed.url)[1] == "wrong-port"
    assert any(m.startswith("auto-fix: retrying with") for m in shown), shown
    # Progress showed every line of both executions once, in order: none lost between them, none twice.
    assert shown == [e["message"] for e in commands.logs(local_target, fixed.id)["stage_logs"]]

    gone = commands.destroy(local_target, fixed.id, timeout_s=600)
    assert gone.ok, gone.error
    _assert_nothing_left(local_target, fixed.id)


def test_destroy_recovers_a_stack_stuck_in_delete_failed(local_target, tmp_path: Path) -> None:
    from hivemind.local import faults

    repo = _go_app(tmp_path, "stuck")
    outcome = commands.deploy(local_target, str(repo), options=FAST, timeout_s=600)
    assert outcome.ok, outcome.error
    # Every CloudFormation delete of a security group fails (as if something outside the stack used it).
    faults.inject(local_target.state_dir, {"resource_type": "AWS::EC2::SecurityGroup", "operation": "delete",
                                           "error": "DependencyViolation", "times": -1,
                                           "message": "resource sg has a dependent object"})
    try:
        gone = commands.destroy(local_target, outcome.id, timeout_s=600)
        hits = faults.read_faults(local_target.state_dir)[0]["hits"]
    finally:
        faults.clear(local_target.state_dir)
    assert hits >= 1, "the injected delete failure never happened"
    assert gone.ok, gone.error
    messages = [e["message"] for e in commands.logs(local_target, outcome.id)["stage_logs"]]
    assert any("DELETE_FAILED" in m and "retaining" in m for m in messages), messages
    assert any("outlived the stack; deleting them directly" in m for m in messages), messages
    _assert_nothing_left(local_target, outcome.id)


def test_retry_recreates_a_stack_whose_first_create_failed(local_target, tmp_path: Path) -> None:
    from hivemind.local import faults

    repo = _go_app(tmp_path, "second try")
    faults.inject(local_target.state_dir, {"resource_type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                                           "operation": "create", "error": "TooManyLoadBalancers",
                                           "message": "You have reached the limit on load balancers"})
    try:
        failed = commands.deploy(local_target, str(repo), options=FAST, timeout_s=600)
    finally:
        faults.clear(local_target.state_dir)
    assert not failed.ok and failed.stage == "provision"
    assert "ROLLBACK_COMPLETE" in failed.error["message"] and "limit on load balancers" in failed.error["message"]
    assert commands.status(local_target, failed.id).diagnosis.rule == "stack-limit-exceeded"

    # A ROLLBACK_COMPLETE stack cannot be updated: provision deletes it and creates it again.
    again = commands.retry(local_target, failed.id, timeout_s=600)
    assert again.ok, again.error
    assert _get(again.url)[1] == "second try"
    messages = [e["message"] for e in commands.logs(local_target, failed.id)["stage_logs"]]
    assert any("was ROLLBACK_COMPLETE (a failed first create): deleting it" in m for m in messages), messages

    gone = commands.destroy(local_target, failed.id, timeout_s=600)
    assert gone.ok, gone.error
    _assert_nothing_left(local_target, failed.id)
