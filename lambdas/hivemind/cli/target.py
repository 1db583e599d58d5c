"""Where the control plane is: the user's AWS account (the CDK stack) or the embedded local cloud.

Both are reached with the same boto3 code; only the endpoint differs (AWS_ENDPOINT_URL locally).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hivemind import constants
from hivemind.errors import HiveMindError

LOCAL_ACCOUNT = "123456789012"
LOCAL_REGION = "us-east-1"


class ControlPlaneNotFound(HiveMindError):
    stage = "cli"
    remediation = "Deploy the control plane with `cdk deploy` (see README), or use --local."


@dataclass
class Target:
    local: bool
    region: str
    deploy_arn: str
    destroy_arn: str
    retry_arn: str
    sweep_arn: str
    table: str
    bucket: str
    endpoint_url: str | None = None
    state_dir: str | None = None


def aws_configured() -> bool:
    import boto3

    return boto3.session.Session().get_credentials() is not None


def resolve(local: bool | None = None, stack_name: str = constants.CONTROL_PLANE_STACK,
            start_local: bool = True) -> Target:
    """``local=None`` means: local unless AWS credentials are configured."""
    if local is None:
        local = os.environ.get("HIVEMIND_LOCAL", "").lower() in {"1", "true"} or not aws_configured()
    return _local(start_local) if local else _aws(stack_name)


def _arn(workflow: str, region: str, account: str) -> str:
    return f"arn:aws:states:{region}:{account}:stateMachine:{constants.state_machine_name(workflow)}"


def _local(start: bool) -> Target:
    from hivemind.local import cloud

    info = cloud.ensure_running() if start else cloud.status()
    if info is None:
        raise ControlPlaneNotFound("the local cloud is not running", remediation="Start it: `hivemind local up`.")
    os.environ.update(cloud.client_env(info))
    _reset_clients()
    return Target(
        local=True,
        region=LOCAL_REGION,
        deploy_arn=_arn("deploy", LOCAL_REGION, LOCAL_ACCOUNT),
        destroy_arn=_arn("destroy", LOCAL_REGION, LOCAL_ACCOUNT),
        retry_arn=_arn("retry", LOCAL_REGION, LOCAL_ACCOUNT),
        sweep_arn=_arn("sweep", LOCAL_REGION, LOCAL_ACCOUNT),
        table=constants.TABLE_NAME,
        bucket=constants.artifacts_bucket_name(LOCAL_ACCOUNT, LOCAL_REGION),
        endpoint_url=info.endpoint_url,
        state_dir=str(info.state_dir),
    )


def _aws(stack_name: str) -> Target:
    from botocore.exceptions import ClientError

    from hivemind.adapters.aws import client

    try:
        stack = client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as exc:
        raise ControlPlaneNotFound(f"control-plane stack {stack_name!r} not found: {exc}") from None
    out = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    try:
        return Target(
            local=False,
            region=client("cloudformation").meta.region_name,
            deploy_arn=out[constants.out_state_machine("deploy")],
            destroy_arn=out[constants.out_state_machine("destroy")],
            retry_arn=out[constants.out_state_machine("retry")],
            sweep_arn=out[constants.out_state_machine("sweep")],
            table=out[constants.OUT_TABLE],
            bucket=out[constants.OUT_BUCKET],
        )
    except KeyError as exc:
        raise ControlPlaneNotFound(f"control-plane stack {stack_name!r} has no output {exc}") from None


def _reset_clients() -> None:
    from hivemind.adapters.aws import client

    client.cache_clear()
