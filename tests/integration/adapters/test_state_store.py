"""The DynamoDB state store against moto: optimistic locking, GSI listing, logs and errors."""

from __future__ import annotations

import boto3
import pytest
from hivemind import constants
from hivemind.adapters.state_store import DynamoStateStore
from hivemind.errors import ConcurrentModification, DeploymentNotFound
from hivemind.models import DeploymentState, DeploymentStatus, ErrorEntry, LogEntry
from moto import mock_aws


@pytest.fixture
def store(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # mock_aws only intercepts AWS hosts
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName=constants.TABLE_NAME,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")],
            GlobalSecondaryIndexes=[{
                "IndexName": constants.STATUS_INDEX,
                "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"},
                              {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }],
        )
        yield DynamoStateStore(constants.TABLE_NAME, resource=boto3.resource("dynamodb", region_name="us-east-1"))


def test_create_get_save_with_optimistic_lock(store: DynamoStateStore) -> None:
    created = store.create(DeploymentState(id="app-000001", repo="r"))
    assert created.version == 1
    with pytest.raises(ConcurrentModification):
        store.create(DeploymentState(id="app-000001", repo="r"))
    a = store.get("app-000001")
    b = store.get("app-000001")
    saved = store.save(a.transition(DeploymentStatus.ANALYZING, stage="analyze"))
    assert saved.version == 2 and store.get("app-000001").status is DeploymentStatus.ANALYZING
    with pytest.raises(ConcurrentModification):
        store.save(b.transition(DeploymentStatus.ANALYZING))  # stale read loses


def test_missing_deployment(store: DynamoStateStore) -> None:
    with pytest.raises(DeploymentNotFound, match="nope-123"):
        store.get("nope-123")
    assert store.find("nope-123") is None


def test_list_by_status_uses_the_index(store: DynamoStateStore) -> None:
    store.create(DeploymentState(id="app-000001", repo="r1"))
    s2 = store.create(DeploymentState(id="app-000002", repo="r2"))
    store.save(s2.transition(DeploymentStatus.FAILED))
    assert [s.id for s in store.list(status="failed")] == ["app-000002"]
    assert {s.id for s in store.list()} == {"app-000001", "app-000002"}


def test_logs_and_errors_are_ordered_and_separate(store: DynamoStateStore) -> None:
    store.create(DeploymentState(id="app-000001", repo="r"))
    for i in range(3):
        store.add_log(LogEntry(deployment_id="app-000001", stage="deploy", message=f"m{i}"))
    store.add_error(ErrorEntry(deployment_id="app-000001", stage="verify", type="HealthCheckFailed",
                               message="down", remediation="fix"))
    assert [e.message for e in store.logs("app-000001")] == ["m0", "m1", "m2"]
    assert [e.type for e in store.errors("app-000001")] == ["HealthCheckFailed"]
