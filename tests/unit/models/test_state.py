"""Deployment status machine and JSON round-trips of the domain models."""

from __future__ import annotations

import pytest
from hivemind.errors import IllegalTransition
from hivemind.models import (
    TRANSITIONS,
    DeploymentState,
    DeploymentStatus,
    ErrorEntry,
    LogEntry,
    Release,
    ResourceInfo,
    TechStack,
)
from hivemind.models.state import check_transition
from hypothesis import given
from hypothesis import strategies as st

S = DeploymentStatus
statuses = st.sampled_from(list(S))


@pytest.mark.parametrize(
    ("current", "new", "legal"),
    [
        (S.PENDING, S.ANALYZING, True),
        (S.ANALYZING, S.PROVISIONING, True),
        (S.PROVISIONING, S.DEPLOYING, True),
        (S.DEPLOYING, S.HARDENING, True),
        (S.HARDENING, S.VERIFYING, True),
        (S.VERIFYING, S.SUCCEEDED, True),
        (S.VERIFYING, S.FAILED, True),
        (S.FAILED, S.ROLLING_BACK, True),
        (S.ROLLING_BACK, S.ROLLED_BACK, True),
        (S.SUCCEEDED, S.UPDATING, True),
        (S.UPDATING, S.SUCCEEDED, True),
        (S.SUCCEEDED, S.DESTROYING, True),
        (S.DESTROYING, S.DESTROYED, True),
        (S.PENDING, S.SUCCEEDED, False),
        (S.ANALYZING, S.DEPLOYING, False),
        (S.DESTROYED, S.PENDING, False),
        (S.DESTROYED, S.FAILED, False),
        (S.SUCCEEDED, S.ANALYZING, False),
        (S.ROLLED_BACK, S.SUCCEEDED, False),
    ],
)
def test_transition_table(current: DeploymentStatus, new: DeploymentStatus, legal: bool) -> None:
    state = DeploymentState(id="app-123456", repo="r", status=current)
    if legal:
        assert state.transition(new).status is new
    else:
        with pytest.raises(IllegalTransition, match=f"from {current.value} to {new.value}"):
            state.transition(new)


@given(statuses, statuses)
def test_transition_agrees_with_table(current: DeploymentStatus, new: DeploymentStatus) -> None:
    if new in TRANSITIONS[current]:
        check_transition(current, new)
    else:
        with pytest.raises(IllegalTransition):
            check_transition(current, new)


@given(st.lists(statuses, min_size=1, max_size=12))
def test_any_walk_only_visits_legal_states(path: list[DeploymentStatus]) -> None:
    """Applying a random sequence: every accepted step is in the table; the rest are rejected."""
    state = DeploymentState(id="app-123456", repo="r")
    for new in path:
        before = state.status
        try:
            state = state.transition(new)
        except IllegalTransition:
            assert new not in TRANSITIONS[before]
        else:
            assert new in TRANSITIONS[before]


def test_destroyed_is_final_and_every_active_state_can_fail() -> None:
    assert TRANSITIONS[S.DESTROYED] == frozenset()
    for status in (S.PENDING, S.ANALYZING, S.PROVISIONING, S.DEPLOYING, S.HARDENING, S.VERIFYING, S.UPDATING):
        assert S.FAILED in TRANSITIONS[status]


def _stack() -> TechStack:
    return TechStack(
        language="python", framework="flask", package_manager="pip", start_command="gunicorn app:app",
        port=8000, sources={"language": "requirements.txt", "framework": "requirements.txt:flask",
                            "package_manager": "requirements.txt", "start_command": "Procfile:web",
                            "port": "default:gunicorn"},
    )


@given(
    st.sampled_from(list(S)),
    st.text(min_size=1, max_size=40),
    st.integers(min_value=0, max_value=10**6),
)
def test_state_json_round_trip(status: DeploymentStatus, message: str, version: int) -> None:
    state = DeploymentState(
        id="app-123456",
        repo="https://example.invalid/a/b.git",
        status=status,
        version=version,
        stack=_stack(),
        release=Release(id="r-1", number=1, commit="a" * 40, s3_key="releases/x/r-1.tar.gz", sha256="b" * 64,
                        size_bytes=10),
        resources=[ResourceInfo(logical_id="Vpc", type="AWS::EC2::VPC")],
        error=ErrorEntry(deployment_id="app-123456", stage="verify", type="HealthCheckFailed", message=message,
                         remediation="fix it", context={"k": [1, 2]}),
    )
    assert DeploymentState.model_validate_json(state.model_dump_json()) == state


def test_log_entry_round_trip() -> None:
    entry = LogEntry(deployment_id="d-123", stage="deploy", message="m", data={"a": 1})
    assert LogEntry.model_validate_json(entry.model_dump_json()) == entry


def test_tech_stack_requires_a_source_for_every_finding() -> None:
    with pytest.raises(ValueError, match="'framework' has no source"):
        TechStack(language="python", framework="flask", package_manager="pip", start_command="x", port=1,
                  sources={"language": "a", "package_manager": "b", "start_command": "c", "port": "d"})
