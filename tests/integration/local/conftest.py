"""One local cloud server for the whole session (started with cloud.up, stopped with cloud.down).

Every test talks to it through boto3 clients with an explicit endpoint. At the end, the
session fixture proves nothing the server started is still running.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from hivemind.local import cloud as local_cloud
from hivemind.local.context import DUMMY_CREDENTIALS, REGION
from hm_local_testkit import processes_mentioning

LAMBDA_MODULES = Path(__file__).parent / "lambda_modules"


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("local-cloud")


@pytest.fixture(scope="session")
def cloud(state_dir: Path) -> Iterator[local_cloud.LocalCloud]:
    old_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(LAMBDA_MODULES), old_path) if p)
    try:
        running = local_cloud.up(state_dir)
    finally:
        if old_path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old_path
    try:
        yield running
    finally:
        local_cloud.down(state_dir, purge=True)
    leftovers = processes_mentioning(str(state_dir))
    assert not leftovers, f"processes left running after local cloud down: {leftovers}"
    sandboxes = [p.name for p in (state_dir / "instances").glob("*") if p.is_dir()]
    assert not sandboxes, f"instance sandboxes left after local cloud down: {sandboxes}"
    assert not list((state_dir / "rds").glob("*")), "database files left after local cloud down"


@pytest.fixture(scope="session")
def aws(cloud: local_cloud.LocalCloud) -> Callable[[str], Any]:
    """``aws("ec2")``: a boto3 client of the local cloud (explicit endpoint and dummy credentials)."""
    session = boto3.session.Session(
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    )
    clients: dict[str, Any] = {}

    def client(name: str) -> Any:
        if name not in clients:
            clients[name] = session.client(name, endpoint_url=cloud.endpoint_url)
        return clients[name]

    return client


@pytest.fixture(scope="session")
def default_subnets(aws: Callable[[str], Any]) -> list[str]:
    ec2 = aws("ec2")
    return [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])
            ["Subnets"]][:2]


@pytest.fixture
def launch(aws: Callable[[str], Any]) -> Iterator[Callable[..., str]]:
    """Start EC2 instances in the local cloud; terminated at the end of the test."""
    ec2 = aws("ec2")
    started: list[str] = []

    def run(**tags: str) -> str:
        kwargs: dict[str, Any] = {"ImageId": "ami-12c6146b", "MinCount": 1, "MaxCount": 1, "InstanceType": "t3.micro"}
        if tags:
            kwargs["TagSpecifications"] = [{"ResourceType": "instance",
                                            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
        instance_id = ec2.run_instances(**kwargs)["Instances"][0]["InstanceId"]
        started.append(instance_id)
        return instance_id

    yield run
    if started:
        ec2.terminate_instances(InstanceIds=started)
