"""Stuck stacks are recovered, not abandoned: provision and check-stack against a fake stacks port."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hivemind.adapters.stacks import StackEvent, StackStatus
from hivemind.errors import StackFailed, StackRecovering
from hivemind.logic import provision as prov
from hivemind.logic.ports import Ports
from hivemind.models import DeploymentState, DeploymentStatus, TechStack
from hivemind.planning.plan import make_plan
from hivemind.settings import Settings


@dataclass
class FakeStacks:
    statuses: list[str]
    calls: list[tuple[str, Any]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def status(self, name: str) -> StackStatus:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        events = [StackEvent(logical_id="Sg", type="AWS::EC2::SecurityGroup", status="DELETE_FAILED",
                             reason="has a dependent object")] if "FAILED" in status else []
        return StackStatus(name=name, status=status, failure_events=events)

    def continue_update_rollback(self, name: str) -> None:
        self.calls.append(("continue", name))

    def delete(self, name: str, *, retain: list[str] | None = None, token: str | None = None) -> None:
        self.calls.append(("delete", retain))

    def delete_failed_resources(self, name: str) -> list[dict[str, str]]:
        return self.failed

    def apply(self, name: str, template: dict, *, tags: dict, token: str) -> str:
        self.calls.append(("apply", name))
        return "executed"


@dataclass
class FakeStore:
    state: DeploymentState
    logs: list[str] = field(default_factory=list)

    def get(self, deployment_id: str) -> DeploymentState:
        return self.state

    def save(self, state: DeploymentState) -> DeploymentState:
        self.state = state
        return state

    def add_log(self, entry: Any) -> None:
        self.logs.append(entry.message)


class NoEvents:
    def publish(self, *_: Any) -> None:
        pass


def _ports(stacks: FakeStacks, state: DeploymentState) -> Ports:
    return Ports(settings=Settings(), store=FakeStore(state), events=NoEvents(), objects=None, stacks=stacks,
                 commands=None, fleet=None, probe=None, repos=None, tagged=None)


@pytest.fixture
def planned() -> DeploymentState:
    """A deployment the real planner planned, about to be provisioned."""
    stack = TechStack(language="go", package_manager="go", start_command="./app", port=8080,
                      sources={"language": "go.mod", "package_manager": "go.mod", "start_command": "main.go",
                               "port": "main.go"})
    plan = make_plan(stack, deployment_id="shop-1a2b", app_name="shop")
    return DeploymentState(id="shop-1a2b", repo="https://example.com/shop.git", stack=stack, plan=plan,
                           status=DeploymentStatus.ANALYZING, stage="plan")


@pytest.mark.parametrize(("status", "call"), [
    ("UPDATE_ROLLBACK_FAILED", ("continue", None)),
    ("ROLLBACK_COMPLETE", ("delete", None)),
    ("ROLLBACK_FAILED", ("delete", None)),
    ("CREATE_FAILED", ("delete", None)),
    ("UPDATE_ROLLBACK_IN_PROGRESS", None),
    ("CREATE_IN_PROGRESS", None),
])
def test_provision_unsticks_the_stack_before_applying(planned: DeploymentState, status: str, call: Any) -> None:
    stacks = FakeStacks([status])
    with pytest.raises(StackRecovering):  # the state machine retries provision with backoff
        prov.provision(planned.id, "exec-1", _ports(stacks, planned))
    expected = [] if call is None else [(call[0], planned.plan.stack_name if call[0] == "continue" else None)]
    assert stacks.calls == expected
    assert ("apply", planned.plan.stack_name) not in stacks.calls


@pytest.mark.parametrize("status", ["DOES_NOT_EXIST", "UPDATE_ROLLBACK_COMPLETE", "CREATE_COMPLETE",
                                    "REVIEW_IN_PROGRESS"])  # a change set created, never executed
def test_provision_applies_when_the_stack_can_take_a_change_set(planned: DeploymentState, status: str) -> None:
    stacks = FakeStacks([status])
    poll = prov.provision(planned.id, "exec-1", _ports(stacks, planned))
    assert stacks.calls == [("apply", planned.plan.stack_name)] and not poll.done


def test_check_stack_continues_a_failed_update_rollback_then_reports_the_failure(planned: DeploymentState) -> None:
    stacks = FakeStacks(["UPDATE_ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE"])
    ports = _ports(stacks, planned)
    poll = prov.check_stack(planned.id, 0, ports)
    assert not poll.done and poll.detail["recovering"] and stacks.calls == [("continue", planned.plan.stack_name)]
    with pytest.raises(StackFailed, match="UPDATE_ROLLBACK_COMPLETE"):
        prov.check_stack(planned.id, 1, ports)


def test_check_stack_retries_a_failed_delete_retaining_what_failed(planned: DeploymentState) -> None:
    failed = [{"logical_id": "Sg", "physical_id": "sg-1", "type": "AWS::EC2::SecurityGroup",
               "status": "DELETE_FAILED", "reason": "has a dependent object"}]
    stacks = FakeStacks(["DELETE_FAILED"], failed=failed)
    ports = _ports(stacks, planned)
    poll = prov.check_stack(planned.id, 0, ports, deleting=True)
    assert not poll.done and poll.detail["retained"] == failed
    assert stacks.calls == [("delete", ["Sg"])]
    assert any("retaining Sg" in m for m in ports.store.logs)


def test_check_stack_gives_up_on_a_delete_failed_stack_with_nothing_to_retain(planned: DeploymentState) -> None:
    stacks = FakeStacks(["DELETE_FAILED"], failed=[])
    with pytest.raises(StackFailed, match="could not be deleted"):
        prov.check_stack(planned.id, 0, _ports(stacks, planned), deleting=True)
