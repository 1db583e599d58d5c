"""Workflows: the deploy, destroy, retry and sweep state machines, loaded from statemachine/*.asl.json.

The ASL files hold string-only ``${Placeholders}``; ``definition_substitutions`` fills them with the
ARNs of exactly the functions in ``WORKFLOW_TASKS[workflow]`` plus ``WORKFLOW_EXTRA_PLACEHOLDERS``
(e.g. the retry machine's ``DeployStateMachineArn``). Each machine has its own role that may
invoke only its own functions, and service integrations found in the ASL are granted explicitly
(an unknown one stops the synth with a message instead of failing at run time).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from stacks import constants as c
from stacks.permissions import executions_arn, scoped_arn

PLACEHOLDER_RE = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_MACHINE_SUFFIX = "StateMachineArn"
_SYNC_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule"


def asl_path(workflow: str) -> Path:
    return c.STATEMACHINE_DIR / c.WORKFLOWS[workflow]


def asl_placeholders(text: str) -> set[str]:
    """Every ``${Name}`` in an ASL document."""
    return set(PLACEHOLDER_RE.findall(text))


def expected_placeholders(workflow: str) -> set[str]:
    """The substitution keys a workflow gets: one per task function plus its extras."""
    return ({c.placeholder(t) for t in c.WORKFLOW_TASKS[workflow]}
            | set(c.WORKFLOW_EXTRA_PLACEHOLDERS[workflow]))


def machine_of_extra(name: str) -> str:
    """DeployStateMachineArn -> deploy. Extras name other state machines; nothing else is known."""
    workflow = name[: -len(_MACHINE_SUFFIX)].lower() if name.endswith(_MACHINE_SUFFIX) else ""
    if workflow not in c.WORKFLOWS:
        raise ValueError(f"ASL placeholder {name!r} is not a known extra: extras must be "
                         f"<Workflow>{_MACHINE_SUFFIX} for a workflow in {sorted(c.WORKFLOWS)}.")
    return workflow


def substitutions(workflow: str, function_arns: Mapping[str, str],
                  machine_arns: Mapping[str, str]) -> dict[str, str]:
    """definition_substitutions for one workflow."""
    subs = {c.placeholder(t): function_arns[t] for t in c.WORKFLOW_TASKS[workflow]}
    for extra in c.WORKFLOW_EXTRA_PLACEHOLDERS[workflow]:
        subs[extra] = machine_arns[machine_of_extra(extra)]
    return subs


def _service_resources(node: Any) -> set[str]:
    """All ``Resource`` values of Task states, anywhere in the document (Map/Parallel included)."""
    found: set[str] = set()
    if isinstance(node, dict):
        if node.get("Type") == "Task" and isinstance(node.get("Resource"), str):
            found.add(node["Resource"])
        for value in node.values():
            found |= _service_resources(value)
    elif isinstance(node, list):
        for value in node:
            found |= _service_resources(value)
    return found


class Workflows(Construct):
    """``self.machines[workflow]`` for every workflow in constants.WORKFLOWS."""

    def __init__(self, scope: Construct, construct_id: str, *,
                 functions: Mapping[str, lambda_.IFunction], bus_arn: str) -> None:
        super().__init__(scope, construct_id)
        self._functions = functions
        self._bus_arn = bus_arn
        self.machines: dict[str, sfn.StateMachine] = {}
        self.log_groups: dict[str, logs.LogGroup] = {}
        # Machines referenced by others' extras come first (retry starts deploy).
        order = sorted(c.WORKFLOWS, key=lambda w: bool(c.WORKFLOW_EXTRA_PLACEHOLDERS[w]))
        for workflow in order:
            self.machines[workflow] = self._machine(workflow)

    def _machine(self, workflow: str) -> sfn.StateMachine:
        path = asl_path(workflow)
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: every workflow in hivemind.constants.WORKFLOWS "
                                    "needs its ASL file under statemachine/.")
        text = path.read_text()
        found, expected = asl_placeholders(text), expected_placeholders(workflow)
        if found != expected:
            raise ValueError(
                f"{path.name}: placeholders {sorted(found)} != substitution keys {sorted(expected)}; "
                f"missing in ASL: {sorted(expected - found)}, unknown in ASL: {sorted(found - expected)}. "
                "Fix the ASL or WORKFLOW_TASKS / WORKFLOW_EXTRA_PLACEHOLDERS in hivemind.constants.")
        name = c.state_machine_name(workflow)
        pascal = workflow.capitalize()
        role = iam.Role(self, f"{pascal}Role", assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
                        description=f"State machine {name}: invokes only its own task functions.")
        for task in c.WORKFLOW_TASKS[workflow]:
            role.add_to_principal_policy(iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[self._functions[task].function_arn]))
        self._grant_integrations(workflow, role, json.loads(text))
        log_group = logs.LogGroup(self, f"{pascal}Logs", log_group_name=f"/aws/vendedlogs/states/{name}",
                                  retention=logs.RetentionDays.THREE_MONTHS,
                                  removal_policy=RemovalPolicy.DESTROY)
        self.log_groups[workflow] = log_group
        function_arns = {t: self._functions[t].function_arn for t in c.WORKFLOW_TASKS[workflow]}
        machine_arns = {w: m.state_machine_arn for w, m in self.machines.items()}
        machine = sfn.StateMachine(
            self,
            pascal,
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(text),  # inline: cfn-lint checks the ASL
            definition_substitutions=substitutions(workflow, function_arns, machine_arns),
            role=role,
            # ALL levels, but never the execution data: inputs/outputs may carry repository URLs
            # with tokens or environment values.
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
        )
        NagSuppressions.add_resource_suppressions(role, [NagPackSuppression(
            id="AwsSolutions-IAM5",
            reason="Step Functions logging and X-Ray tracing use vended log delivery and X-Ray APIs "
                   "that cannot be scoped to a resource (stacks.constants.UNSCOPABLE_ACTIONS); "
                   "everything else in this role names its functions and machines exactly.",
            applies_to=["Resource::*"],
        )], apply_to_children=True)
        return machine

    def _grant_integrations(self, workflow: str, role: iam.Role, definition: dict[str, Any]) -> None:
        """Permissions for the service integrations the ASL uses (beyond its own functions)."""
        for resource in sorted(_service_resources(definition)):
            if resource.startswith("${") or resource in ("arn:aws:states:::lambda:invoke",
                                                         "arn:aws:states:::lambda:invoke.waitForTaskToken"):
                continue  # a function of this workflow: already granted
            if resource == "arn:aws:states:::events:putEvents":
                role.add_to_principal_policy(iam.PolicyStatement(actions=["events:PutEvents"],
                                                                 resources=[self._bus_arn]))
            elif resource.startswith("arn:aws:states:::states:startExecution"):
                self._grant_start(workflow, role, sync=".sync" in resource)
            else:
                raise ValueError(
                    f"{c.WORKFLOWS[workflow]} uses the service integration {resource!r}, which "
                    "stacks/constructs/workflows.py does not grant yet; add it to _grant_integrations.")

    def _grant_start(self, workflow: str, role: iam.Role, *, sync: bool) -> None:
        targets = [machine_of_extra(e) for e in c.WORKFLOW_EXTRA_PLACEHOLDERS[workflow]]
        if not targets:
            raise ValueError(f"{c.WORKFLOWS[workflow]} starts an execution but has no "
                             "<Workflow>StateMachineArn extra placeholder naming which machine.")
        for target in targets:
            role.add_to_principal_policy(iam.PolicyStatement(
                actions=["states:StartExecution"], resources=[self.machines[target].state_machine_arn]))
            if sync:  # .sync waits for the child: it describes/stops it and uses a managed rule
                role.add_to_principal_policy(iam.PolicyStatement(
                    actions=["states:DescribeExecution", "states:StopExecution"],
                    resources=[executions_arn(target)]))
        if sync:
            role.add_to_principal_policy(iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[scoped_arn("events", f"rule/{_SYNC_RULE}")]))
