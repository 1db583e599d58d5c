"""SSM Run Command: send a document to instances and read each invocation's result."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel

from hivemind.adapters.aws import client, error_code

TERMINAL = frozenset({"Success", "Failed", "TimedOut", "Cancelled", "Undeliverable", "Terminated", "DeliveryTimedOut",
                      "ExecutionTimedOut", "Incomplete", "AccessDenied", "InvalidPlatform"})


class Invocation(BaseModel):
    instance_id: str
    status: str
    response_code: int | None = None
    stdout: str = ""
    stderr: str = ""

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def ok(self) -> bool:
        return self.status == "Success"


class SsmCommands:
    def __init__(self, region: str | None = None) -> None:
        self.region = region

    @property
    def _ssm(self) -> Any:
        return client("ssm", self.region)

    def send(
        self,
        document: str,
        instance_ids: list[str],
        parameters: dict[str, list[str]],
        *,
        timeout_s: int,
        comment: str = "",
    ) -> str:
        resp = self._ssm.send_command(
            DocumentName=document,
            InstanceIds=instance_ids,
            Parameters=parameters,
            TimeoutSeconds=max(30, min(timeout_s, 2592000)),
            Comment=comment[:100],
        )
        return resp["Command"]["CommandId"]

    def invocation(self, command_id: str, instance_id: str) -> Invocation:
        try:
            r = self._ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
        except ClientError as exc:
            if error_code(exc) == "InvocationDoesNotExist":
                return Invocation(instance_id=instance_id, status="Pending")
            raise
        return Invocation(
            instance_id=instance_id,
            status=r.get("Status", "Pending"),
            response_code=r.get("ResponseCode"),
            stdout=r.get("StandardOutputContent", ""),
            stderr=r.get("StandardErrorContent", ""),
        )

    def online_instances(self, instance_ids: list[str]) -> set[str]:
        if not instance_ids:
            return set()
        resp = self._ssm.describe_instance_information(
            Filters=[{"Key": "InstanceIds", "Values": instance_ids}]
        )
        return {i["InstanceId"] for i in resp.get("InstanceInformationList", []) if i.get("PingStatus") == "Online"}

    def put_parameter(self, name: str, value: str) -> None:
        self._ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
