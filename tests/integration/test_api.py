"""The REST API: the real ``hivemind-api`` function in the local cloud, driven with API Gateway REST
proxy events through Lambda Invoke, and the OpenAPI document Powertools generates for it."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from hivemind import constants
from hivemind.adapters.aws import client
from hivemind.adapters.state_store import DynamoStateStore
from hivemind.local import cloud as local_cloud
from hivemind.local import control_plane
from hivemind.models import DeploymentState, DeploymentStatus

GO_HELLO = str(Path(__file__).resolve().parents[2] / "examples" / "go-hello")
ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,39}$")
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


@pytest.fixture(scope="module")
def cloud(module_local_cloud: local_cloud.LocalCloud) -> local_cloud.LocalCloud:
    return module_local_cloud


@pytest.fixture(scope="module")
def store(cloud: local_cloud.LocalCloud) -> DynamoStateStore:
    return DynamoStateStore(constants.TABLE_NAME)


def call(method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> tuple[int, Any]:
    """Invoke hivemind-api with a REST API (v1) proxy event; return (statusCode, decoded body)."""
    event = {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json", "Accept": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"], "Accept": ["application/json"]},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012", "apiId": "hivemind", "stage": "prod", "httpMethod": method,
            "path": f"/prod{path}", "resourcePath": path, "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "127.0.0.1", "userArn": "arn:aws:iam::123456789012:user/tester"},
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }
    resp = client("lambda").invoke(FunctionName=constants.function_name(constants.API_FUNCTION),
                                   Payload=json.dumps(event).encode())
    payload = json.loads(resp["Payload"].read())
    assert "FunctionError" not in resp, payload  # the API answers errors as HTTP responses, never crashes
    text = payload.get("body")
    # API Gateway's proxy integration takes only a string body (anything else: 502 Malformed response).
    assert text is None or isinstance(text, str), f"{method} {path}: body is a {type(text).__name__}, not a string"
    if text:
        assert payload["multiValueHeaders"].get("Content-Type") == ["application/json"], payload
    return payload["statusCode"], json.loads(text) if text else None


def wait_execution(arn: str, timeout_s: float = 120) -> dict[str, Any]:
    sfn = client("stepfunctions")
    deadline = time.monotonic() + timeout_s
    while (desc := sfn.describe_execution(executionArn=arn))["status"] not in TERMINAL:
        assert time.monotonic() < deadline, f"{arn} still running after {timeout_s} s"
        time.sleep(0.3)
    return desc


@pytest.fixture
def settled(store: DynamoStateStore) -> DeploymentState:
    """A succeeded deployment item (no stack) written through the real state store."""
    return store.create(DeploymentState(id=f"api-{uuid.uuid4().hex[:6]}", repo=GO_HELLO,
                                        status=DeploymentStatus.SUCCEEDED, stage="report"))


def test_post_what_if_starts_a_deploy_execution(cloud: local_cloud.LocalCloud) -> None:
    status, body = call("POST", "/deployments", {"repo": GO_HELLO, "what_if": True, "options": {"poll_interval_s": 1}})
    assert status == 202, body
    assert ID.match(body["id"]) and body["id"].startswith("go-hello-")
    assert body["execution_arn"].startswith(control_plane.state_machine_arn("deploy").replace(":stateMachine:",
                                                                                              ":execution:"))
    desc = wait_execution(body["execution_arn"])
    assert desc["status"] == "SUCCEEDED"
    assert json.loads(desc["input"])["deployment_id"] == body["id"]
    assert json.loads(desc["output"])["plan"]["cost"]["monthly_usd"] > 0
    assert call("GET", f"/deployments/{body['id']}")[0] == 404  # a what-if creates no deployment


def test_post_with_an_invalid_body_is_rejected(cloud: local_cloud.LocalCloud) -> None:
    status, body = call("POST", "/deployments", {"what_if": True})  # no repo
    assert status == 422
    assert "repo" in json.dumps(body)
    status, _ = call("POST", "/deployments", {"repo": GO_HELLO, "preset": "huge"})
    assert status == 422


def test_get_and_list_deployments(settled: DeploymentState) -> None:
    status, body = call("GET", f"/deployments/{settled.id}")
    assert status == 200
    assert body["id"] == settled.id and body["status"] == "succeeded" and body["repo"] == GO_HELLO

    status, listed = call("GET", "/deployments")
    assert status == 200 and settled.id in [d["id"] for d in listed]
    status, succeeded = call("GET", "/deployments", query={"status": "succeeded"})
    assert status == 200 and settled.id in [d["id"] for d in succeeded]
    status, failed = call("GET", "/deployments", query={"status": "failed"})
    assert status == 200 and settled.id not in [d["id"] for d in failed]


def test_unknown_and_malformed_ids(cloud: local_cloud.LocalCloud) -> None:
    status, body = call("GET", "/deployments/nope-123456")
    assert status == 404
    assert "nope-123456" in body["message"] and body["remediation"]
    status, body = call("GET", "/deployments/Not_An_Id")
    assert status in (400, 422)
    assert "deployment_id" in json.dumps(body)
    assert call("DELETE", "/deployments/nope-123456")[0] == 404
    assert call("POST", "/deployments/nope-123456/retry")[0] == 404


def test_retry_of_a_deployment_that_did_not_fail_is_refused(settled: DeploymentState, store: DynamoStateStore) -> None:
    before = client("stepfunctions").list_executions(stateMachineArn=control_plane.state_machine_arn("retry"))
    status, body = call("POST", f"/deployments/{settled.id}/retry")
    assert 400 <= status < 500, body
    assert "failed" in body["message"] and body["remediation"]
    after = client("stepfunctions").list_executions(stateMachineArn=control_plane.state_machine_arn("retry"))
    assert len(after["executions"]) == len(before["executions"])  # nothing was started
    assert store.get(settled.id).status is DeploymentStatus.SUCCEEDED


@pytest.mark.slow
def test_delete_starts_the_destroy_workflow(settled: DeploymentState, store: DynamoStateStore) -> None:
    status, body = call("DELETE", f"/deployments/{settled.id}")
    assert status == 202, body
    assert body["id"] == settled.id
    assert ":execution:" + constants.state_machine_name("destroy") + ":" in body["execution_arn"]
    assert wait_execution(body["execution_arn"])["status"] == "SUCCEEDED"
    assert store.get(settled.id).status is DeploymentStatus.DESTROYED
    assert call("GET", f"/deployments/{settled.id}")[1]["status"] == "destroyed"


def test_openapi_document_lists_every_route() -> None:
    from hivemind.handlers.api import app

    doc = json.loads(app.get_openapi_json_schema())
    routes = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert routes == {
        ("/deployments", "post"),
        ("/deployments", "get"),
        ("/deployments/{deployment_id}", "get"),
        ("/deployments/{deployment_id}", "delete"),
        ("/deployments/{deployment_id}/retry", "post"),
        ("/deployments/{deployment_id}/rollback", "post"),
    }
    for path, ops in doc["paths"].items():
        for op in ops.values():
            params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "path"}
            if "{deployment_id}" in path:
                assert params["deployment_id"]["schema"]["pattern"] == ID.pattern
    create = doc["paths"]["/deployments"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schema = doc["components"]["schemas"][create["$ref"].rsplit("/", 1)[-1]]
    assert "repo" in schema["required"] and {"ref", "preset", "what_if", "options"} <= set(schema["properties"])


def test_openapi_document_says_202_where_a_route_only_starts_a_workflow() -> None:
    from hivemind.handlers.api import app

    doc = json.loads(app.get_openapi_json_schema())
    codes = {(path, method): {c for c in op["responses"] if c.startswith("2")}
             for path, ops in doc["paths"].items() for method, op in ops.items()}
    assert codes == {
        ("/deployments", "post"): {"202"},
        ("/deployments", "get"): {"200"},
        ("/deployments/{deployment_id}", "get"): {"200"},
        ("/deployments/{deployment_id}", "delete"): {"202"},
        ("/deployments/{deployment_id}/retry", "post"): {"202"},
        ("/deployments/{deployment_id}/rollback", "post"): {"202"},
    }
    started = doc["paths"]["/deployments"]["post"]["responses"]["202"]["content"]["application/json"]["schema"]
    assert set(doc["components"]["schemas"][started["$ref"].rsplit("/", 1)[-1]]["properties"]) == {"id", "execution_arn"}
