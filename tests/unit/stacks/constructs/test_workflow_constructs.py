"""stacks.constructs.workflows: the ASL contract helpers."""

from __future__ import annotations

import pytest
from hivemind import constants as hc

from stacks.constructs.workflows import (
    _service_resources,
    asl_placeholders,
    expected_placeholders,
    machine_of_extra,
    substitutions,
)


def test_placeholders_are_found_anywhere_in_the_text() -> None:
    text = '{"A": {"Resource": "${ValidateFunctionArn}", "P": {"x": "${DeployStateMachineArn}"}}, "$.y": "$$.z"}'
    assert asl_placeholders(text) == {"ValidateFunctionArn", "DeployStateMachineArn"}


def test_expected_placeholders_of_retry_include_the_deploy_machine() -> None:
    assert "DeployStateMachineArn" in expected_placeholders("retry")
    assert {hc.placeholder(t) for t in hc.WORKFLOW_TASKS["retry"]} <= expected_placeholders("retry")


@pytest.mark.parametrize(("name", "workflow"), [("DeployStateMachineArn", "deploy"),
                                                ("DestroyStateMachineArn", "destroy")])
def test_machine_of_extra(name: str, workflow: str) -> None:
    assert machine_of_extra(name) == workflow


@pytest.mark.parametrize("name", ["DeployArn", "UpdateStateMachineArn", "StateMachineArn"])
def test_unknown_extras_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not a known extra"):
        machine_of_extra(name)


def test_substitutions_map_every_task_and_extra() -> None:
    functions = {t: f"arn:fn:{t}" for t in hc.TASKS}
    subs = substitutions("retry", functions, {"deploy": "arn:sm:deploy"})
    assert set(subs) == expected_placeholders("retry")
    assert subs["DeployStateMachineArn"] == "arn:sm:deploy"


def test_service_resources_reach_into_parallel_and_map_states() -> None:
    definition = {"States": {
        "P": {"Type": "Parallel", "Branches": [{"States": {"T": {"Type": "Task", "Resource": "arn:a"}}}]},
        "M": {"Type": "Map", "ItemProcessor": {"States": {"U": {"Type": "Task", "Resource": "arn:b"}}}},
        "C": {"Type": "Choice", "Resource": "not-a-task"},
    }}
    assert _service_resources(definition) == {"arn:a", "arn:b"}
