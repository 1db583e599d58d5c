"""Deployment state in one DynamoDB table (single-table design).

Items (pk = ``DEP#<id>``):
  sk = ``STATE``                 the deployment (DeploymentState JSON in ``doc``), versioned
  sk = ``LOG#<iso time>#<n>``   a log entry (TTL)
  sk = ``ERR#<iso time>``       an error entry
GSI ``by-status``: gsi1pk = ``STATUS#<status>``, gsi1sk = ``<updated_at>#<id>`` (state items only).
Secrets never reach this table: models carry secret ARNs, never values.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from hivemind import constants
from hivemind.adapters.aws import error_code
from hivemind.errors import ConcurrentModification, DeploymentNotFound
from hivemind.models import DeploymentState, ErrorEntry, LogEntry

_seq = count()


def _pk(deployment_id: str) -> str:
    return f"DEP#{deployment_id}"


class DynamoStateStore:
    def __init__(self, table_name: str, resource: Any | None = None) -> None:
        import boto3

        from hivemind.adapters.aws import RETRY_CONFIG

        self._table = (resource or boto3.resource("dynamodb", config=RETRY_CONFIG)).Table(table_name)

    # --- deployments ----------------------------------------------------------------------
    def get(self, deployment_id: str) -> DeploymentState:
        item = self._table.get_item(Key={"pk": _pk(deployment_id), "sk": "STATE"}, ConsistentRead=True).get("Item")
        if not item:
            raise DeploymentNotFound(f"no deployment with id {deployment_id!r}")
        return DeploymentState.model_validate_json(item["doc"])

    def find(self, deployment_id: str) -> DeploymentState | None:
        try:
            return self.get(deployment_id)
        except DeploymentNotFound:
            return None

    def create(self, state: DeploymentState) -> DeploymentState:
        """Write a new deployment; fail if the id exists."""
        return self._write(state.model_copy(update={"version": 1}), condition="attribute_not_exists(pk)")

    def save(self, state: DeploymentState) -> DeploymentState:
        """Write ``state`` if nobody wrote since it was read (optimistic lock on ``version``)."""
        new = state.model_copy(update={"version": state.version + 1, "updated_at": datetime.now(UTC)})
        return self._write(new, condition="#v = :expected", expected=state.version)

    def _write(self, state: DeploymentState, *, condition: str, expected: int | None = None) -> DeploymentState:
        item = {
            "pk": _pk(state.id),
            "sk": "STATE",
            "doc": state.model_dump_json(),
            "v": state.version,
            "status": state.status.value,
            "repo": state.repo,
            "gsi1pk": f"STATUS#{state.status.value}",
            "gsi1sk": f"{state.updated_at.isoformat()}#{state.id}",
        }
        kwargs: dict[str, Any] = {"Item": item, "ConditionExpression": condition}
        if expected is not None:
            kwargs["ExpressionAttributeNames"] = {"#v": "v"}
            kwargs["ExpressionAttributeValues"] = {":expected": expected}
        try:
            self._table.put_item(**kwargs)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise ConcurrentModification(
                    f"deployment {state.id} changed while this step ran (expected version {expected})",
                    context={"deployment_id": state.id},
                ) from exc
            raise
        return state

    def list(self, status: str | None = None, limit: int = 100) -> list[DeploymentState]:
        if status:
            resp = self._table.query(
                IndexName=constants.STATUS_INDEX,
                KeyConditionExpression=Key("gsi1pk").eq(f"STATUS#{status}"),
                ScanIndexForward=False,
                Limit=limit,
            )
            items = resp.get("Items", [])
        else:
            items = []
            kwargs: dict[str, Any] = {
                "FilterExpression": "sk = :s",
                "ExpressionAttributeValues": {":s": "STATE"},
            }
            while True:
                resp = self._table.scan(**kwargs)
                items.extend(resp.get("Items", []))
                if "LastEvaluatedKey" not in resp or len(items) >= limit:
                    break
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        states = [DeploymentState.model_validate_json(i["doc"]) for i in items]
        return sorted(states, key=lambda s: s.updated_at, reverse=True)[:limit]

    # --- logs and errors ------------------------------------------------------------------
    def add_log(self, entry: LogEntry) -> None:
        ttl = int(time.time() + timedelta(days=constants.LOG_TTL_DAYS).total_seconds())
        self._table.put_item(
            Item={
                "pk": _pk(entry.deployment_id),
                "sk": f"LOG#{entry.at.isoformat()}#{next(_seq):06d}",
                "doc": entry.model_dump_json(),
                "ttl": ttl,
            }
        )

    def add_error(self, entry: ErrorEntry) -> None:
        self._table.put_item(
            Item={"pk": _pk(entry.deployment_id), "sk": f"ERR#{entry.at.isoformat()}", "doc": entry.model_dump_json()}
        )

    def logs(self, deployment_id: str) -> list[LogEntry]:
        return [LogEntry.model_validate_json(i["doc"]) for i in self._query(deployment_id, "LOG#")]

    def errors(self, deployment_id: str) -> list[ErrorEntry]:
        return [ErrorEntry.model_validate_json(i["doc"]) for i in self._query(deployment_id, "ERR#")]

    def _query(self, deployment_id: str, prefix: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(_pk(deployment_id)) & Key("sk").begins_with(prefix)
        }
        while True:
            resp = self._table.query(**kwargs)
            items.extend(resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return items
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
