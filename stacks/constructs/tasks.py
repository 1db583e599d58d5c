"""Tasks: one Lambda function per pipeline task, plus the API function.

Packaging (see docs/architecture.md, "Lambda packaging"):
- Zip functions get the ``lambdas/`` directory as code (the ``hivemind`` package without the CLI and
  the local cloud) and two layers: the public Powertools v3 layer for python3.12/arm64 (it ships
  pydantic and aws-xray-sdk), looked up per region from Powertools' public SSM parameter, and a
  small deps layer (pydantic-settings, GitPython) built by ``python -m stacks.build_layer`` into
  build/layer with pip's cross-platform wheel download. Neither needs Docker at synth time.
- ``analyze`` needs the ``git`` binary, so it is a container-image function built from
  lambdas/Dockerfile.analyze. Synth only stages the build context; the image is built at deploy.

Each function has its own role built from the permission table in ``stacks.permissions``.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Annotations, Duration, RemovalPolicy, Size
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import Construct

from stacks import constants as c
from stacks.permissions import TASK_CAPABILITIES, Targets, state_machine_arn, statements_for


@dataclass(frozen=True)
class Sizing:
    memory_mb: int = 512
    timeout_s: int = 60
    tmp_mb: int = 512


# Waiting is done by the state machines (Wait + poll), so no task runs long. analyze clones and
# packs a repository into /tmp; plan renders and validates a template; sweep scans the account.
SIZING: dict[str, Sizing] = {
    "analyze": Sizing(memory_mb=2048, timeout_s=300, tmp_mb=4096),
    "plan": Sizing(memory_mb=1024, timeout_s=120),
    "verify": Sizing(timeout_s=180),
    "sweep": Sizing(timeout_s=300),
}

# Wildcard resources a task role may contain (cdk-nag IAM5). Anything else still fails the check.
_ALLOWED_WILDCARDS = (
    r"/^Resource::\*$/",  # UNSCOPABLE_ACTIONS only (tests/infrastructure enforce it)
    r"/^Resource::<[A-Za-z0-9]+\.Arn>\/(releases|reports)\/\*$/",
    r"/^Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack\/hm-\*\/\*$/",
    r"/^Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:(instance|security-group)\/\*$/",
    r"/^Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter\/hivemind\/\*$/",
    r"/^Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule\/hivemind-cleanup\/\*$/",
    r"/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:hivemind-[a-z]+:\*$/",
    # destroy: DB instances and the janitor's deletes, each conditioned on the hivemind:managed-by tag
    r"/^Resource::arn:<AWS::Partition>:rds:<AWS::Region>:<AWS::AccountId>:db:\*$/",
    r"/^Resource::arn:<AWS::Partition>:(autoscaling|cloudwatch|ec2|elasticloadbalancing|logs|rds|secretsmanager|ssm)"
    r":<AWS::Region>:<AWS::AccountId>:\*$/",
)


def task_environment(targets: Targets, names: dict[str, str]) -> dict[str, str]:
    """Settings every function gets (all of them, so one settings model fits every handler)."""
    return {
        "POWERTOOLS_SERVICE_NAME": c.SERVICE,
        "POWERTOOLS_METRICS_NAMESPACE": c.POWERTOOLS_NAMESPACE,
        "LOG_LEVEL": c.LOG_LEVEL,
        c.ENV_TABLE: names["table"],
        c.ENV_IDEMPOTENCY_TABLE: names["idempotency_table"],
        c.ENV_BUS: names["bus"],
        c.ENV_BUCKET: names["bucket"],
        c.ENV_CFN_ROLE: targets.cfn_role_arn,
        c.ENV_CLEANUP_GROUP: c.CLEANUP_SCHEDULE_GROUP,
        c.ENV_CLEANUP_ROLE: targets.cleanup_role_arn,
        **{c.env_state_machine(w): state_machine_arn(w) for w in c.WORKFLOWS},
    }


class Tasks(Construct):
    """``self.functions[task]`` for every task in constants.TASKS and constants.API_FUNCTION."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        targets: Targets,
        names: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self._targets = targets
        self._env = task_environment(targets, names)
        self._code = lambda_.Code.from_asset(str(c.LAMBDAS_DIR), exclude=list(c.CODE_EXCLUDES))
        self._layers = self._make_layers()
        self.functions: dict[str, lambda_.Function] = {}
        self.roles: dict[str, iam.Role] = {}
        for task in (*c.TASKS, c.API_FUNCTION):
            self.functions[task] = self._function(task)
            self._suppress_role_wildcards(task)

    # --- layers -------------------------------------------------------------------------------
    def _make_layers(self) -> list[lambda_.ILayerVersion]:
        version = self.node.try_get_context(c.POWERTOOLS_VERSION_CONTEXT) or c.POWERTOOLS_VERSION
        powertools_arn = ssm.StringParameter.value_for_string_parameter(
            self, c.powertools_layer_parameter(version))
        layers: list[lambda_.ILayerVersion] = [
            lambda_.LayerVersion.from_layer_version_arn(self, "PowertoolsLayer", powertools_arn)]
        if (c.LAYER_DIR / "python").is_dir():
            layers.append(lambda_.LayerVersion(
                self,
                "DepsLayer",
                code=lambda_.Code.from_asset(str(c.LAYER_DIR)),
                compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
                compatible_architectures=[lambda_.Architecture.ARM_64],
                description="pydantic-settings and GitPython for HiveMind (python -m stacks.build_layer)",
            ))
        else:
            Annotations.of(self).add_info(
                "build/layer is absent: the deps layer (pydantic-settings, GitPython) is not attached. "
                "Run `python -m stacks.build_layer` before `cdk deploy`.")
        return layers

    # --- one function ---------------------------------------------------------------------------
    def _role(self, task: str, log_group: logs.LogGroup) -> iam.Role:
        statements = statements_for(task, self._targets)
        statements.append(iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]))
        role = iam.Role(
            self,
            f"{_pascal(task)}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"HiveMind {task} task: {', '.join(TASK_CAPABILITIES[task])}",
            inline_policies={"Task": iam.PolicyDocument(statements=statements)},
        )
        self.roles[task] = role
        return role

    def _suppress_role_wildcards(self, task: str) -> None:
        """After the function exists: tracing adds the X-Ray statements to the role's DefaultPolicy."""
        NagSuppressions.add_resource_suppressions(self.roles[task], [NagPackSuppression(
            id="AwsSolutions-IAM5",
            reason="Wildcards only inside HiveMind's own scope: releases/ and reports/ prefixes of the "
                   "artifacts bucket, hm-* application stacks, instances and security groups tagged "
                   "hivemind:managed-by (condition), /hivemind/* parameters, hivemind-cleanup "
                   "schedules, executions of hivemind-* state machines, the function's own log group; "
                   "destroy's direct deletes of what outlived a stack: this account and region, only "
                   "resources tagged hivemind:managed-by (condition); "
                   "Resource * only for actions AWS cannot scope (stacks.constants.UNSCOPABLE_ACTIONS: "
                   "X-Ray, EC2/ELB/Auto Scaling Describe calls, Run Command invocation reads, "
                   "tag:GetResources).",
            applies_to=[RegexAppliesTo(regex=r) for r in _ALLOWED_WILDCARDS],
        )], apply_to_children=True)

    def _function(self, task: str) -> lambda_.Function:
        name = c.function_name(task)
        size = SIZING.get(task, Sizing())
        log_group = logs.LogGroup(
            self,
            f"{_pascal(task)}Logs",
            log_group_name=f"/aws/lambda/{name}",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        common = {
            "function_name": name,
            "description": f"HiveMind task: {task}",
            "architecture": lambda_.Architecture.ARM_64,
            "memory_size": size.memory_mb,
            "timeout": Duration.seconds(size.timeout_s),
            "ephemeral_storage_size": Size.mebibytes(size.tmp_mb),
            "environment": dict(self._env),
            "tracing": lambda_.Tracing.ACTIVE,
            "role": self._role(task, log_group),
            "log_group": log_group,
        }
        if task in c.CONTAINER_TASKS:
            return lambda_.DockerImageFunction(
                self,
                _pascal(task),
                code=lambda_.DockerImageCode.from_image_asset(
                    str(c.LAMBDAS_DIR),
                    file=c.ANALYZE_DOCKERFILE,
                    platform=ecr_assets.Platform.LINUX_ARM64,
                    exclude=list(c.IMAGE_EXCLUDES),
                    cmd=[c.handler_path(task)],
                ),
                **common,
            )
        fn = lambda_.Function(
            self,
            _pascal(task),
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler=c.handler_path(task),
            code=self._code,
            layers=self._layers,
            **common,
        )
        NagSuppressions.add_resource_suppressions(fn, [NagPackSuppression(
            id="AwsSolutions-L1",
            reason="Python 3.12 on purpose: the public Powertools layer and the deps layer are built "
                   "for python3.12/arm64, and the project is tested against it (pyproject).",
        )])
        return fn


def _pascal(name: str) -> str:
    return "".join(p.capitalize() for p in name.split("-"))


__all__ = ["SIZING", "Sizing", "Tasks", "task_environment"]
