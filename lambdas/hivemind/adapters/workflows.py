"""Step Functions: start executions and read their history (the CLI, the API, retry and rollback)."""

from __future__ import annotations

import json
from typing import Any

from hivemind.adapters.aws import client


class StepFunctions:
    def __init__(self, region: str | None = None) -> None:
        self.region = region

    @property
    def _sfn(self) -> Any:
        return client("stepfunctions", self.region)

    def start(self, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
        resp = self._sfn.start_execution(stateMachineArn=state_machine_arn, name=name[:80], input=json.dumps(payload))
        return resp["executionArn"]

    def describe(self, execution_arn: str) -> dict[str, Any]:
        return self._sfn.describe_execution(executionArn=execution_arn)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            resp = self._sfn.get_execution_history(**kwargs)
            events.extend(resp.get("events", []))
            if not resp.get("nextToken"):
                return events
            kwargs["nextToken"] = resp["nextToken"]
