"""logic.failure.diagnose keeps the diagnosis on the deployment item (a real DynamoDB store on moto)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hivemind import constants
from hivemind.adapters.state_store import DynamoStateStore
from hivemind.errors import ConcurrentModification
from hivemind.logic.failure import diagnose
from hivemind.logic.ports import Ports
from hivemind.models import DeploymentState, DeploymentStatus
from hivemind.settings import Settings
from moto import mock_aws

from ._errors import command, output


@pytest.fixture
def store() -> Iterator[DynamoStateStore]:
    with mock_aws():
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName=constants.TABLE_NAME, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{"IndexName": constants.STATUS_INDEX, "Projection": {"ProjectionType": "ALL"},
                                     "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"},
                                                   {"AttributeName": "gsi1sk", "KeyType": "RANGE"}]}],
        )
        yield DynamoStateStore(constants.TABLE_NAME, boto3.resource("dynamodb", region_name="us-east-1"))


class Reader:
    """A diagnoser stand-in for ports.extra["llm"] (the Bedrock one is tested with botocore's Stubber)."""

    def __init__(self, answer: str | Exception) -> None:
        self.answer = answer
        self.calls = 0

    def read(self, error: Any, diagnosis: Any) -> str:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def _ports(store: DynamoStateStore, **settings: Any) -> Ports:
    extra = {"llm": settings.pop("llm")} if "llm" in settings else {}
    return Ports(settings=Settings(**settings), store=store, events=None, objects=None, stacks=None, commands=None,
                 fleet=None, probe=None, repos=None, tagged=None, extra=extra)


def _failed(store: DynamoStateStore) -> DeploymentState:
    error = command(output("install-wrong-port.txt"))
    state = DeploymentState(id=error.deployment_id, repo="r", status=DeploymentStatus.FAILED, stage="deploy",
                            error=error)
    return store.create(state)


def test_diagnosis_is_saved_on_the_item(store: DynamoStateStore) -> None:
    created = _failed(store)
    diagnosis = diagnose(created.id, _ports(store))
    saved = store.get(created.id)
    assert saved.diagnosis == diagnosis
    assert saved.diagnosis.rule == "wrong-port" and saved.diagnosis.fix == {"kind": "set_port", "port": 5999}
    assert saved.version == created.version + 1
    assert saved.error == created.error  # the error stays as history


def test_no_error_no_diagnosis(store: DynamoStateStore) -> None:
    state = store.create(DeploymentState(id="shop-9z9z", repo="r"))
    assert diagnose(state.id, _ports(store)) is None
    assert store.get(state.id).diagnosis is None
    assert diagnose("nobody-1a1a", _ports(store)) is None


def test_a_concurrent_writer_is_not_overwritten(store: DynamoStateStore) -> None:
    created = _failed(store)

    class Racing(DynamoStateStore):
        def find(self, deployment_id: str) -> DeploymentState | None:
            found = super().find(deployment_id)
            super().save(found.model_copy(update={"retries": 1}))  # someone writes after our read
            return found

    racing = Racing(constants.TABLE_NAME, boto3.resource("dynamodb", region_name="us-east-1"))
    with pytest.raises(ConcurrentModification):
        diagnose(created.id, _ports(racing))
    assert store.get(created.id).retries == 1 and store.get(created.id).diagnosis is None


def test_llm_reading_is_added_only_when_the_setting_is_on(store: DynamoStateStore) -> None:
    created = _failed(store)
    off = Reader("the app hard-codes port 5999")
    assert diagnose(created.id, _ports(store, llm=off)).llm_reading is None and off.calls == 0
    on = Reader("the app hard-codes port 5999")
    assert diagnose(created.id, _ports(store, llm=on, llm_diagnosis=True)).llm_reading == "the app hard-codes port 5999"
    assert store.get(created.id).diagnosis.llm_reading == "the app hard-codes port 5999"


def test_a_failing_llm_reading_is_ignored(store: DynamoStateStore) -> None:
    created = _failed(store)
    diagnosis = diagnose(created.id, _ports(store, llm=Reader(RuntimeError("bedrock down")), llm_diagnosis=True))
    assert diagnosis.rule == "wrong-port" and diagnosis.llm_reading is None
    assert store.get(created.id).diagnosis.rule == "wrong-port"
