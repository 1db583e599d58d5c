"""BedrockDiagnoser: the Converse request it makes (botocore's Stubber), and that no secret is ever sent."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from hivemind.adapters.llm import REDACTED, SYSTEM_PROMPT, BedrockDiagnoser, prompt_for, redact
from hivemind.errors import InvalidInput
from hivemind.logic.medic import diagnose_error
from hivemind.models import ErrorEntry

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
SECRETS = [
    "postgresql://shop:S3cr3t-pw@db.internal:5432/shop",
    "DATABASE_PASSWORD=hunter2hunter2",
    "api_key: sk-live-abcdef123456",
    '"password": "pa ss word"',
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
    "AKIAIOSFODNN7EXAMPLE",
    "https://bucket.s3.amazonaws.com/r-1.tar.gz?X-Amz-Signature=abcdef0123456789&X-Amz-Credential=AKIAX",
    "ghp_0123456789abcdefghijABCDEFGHIJ0123",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
]
SECRET_VALUES = ["S3cr3t-pw", "hunter2hunter2", "sk-live-abcdef123456", "pa ss word", "eyJhbGciOiJIUzI1NiJ9",
                 "AKIAIOSFODNN7EXAMPLE", "abcdef0123456789", "ghp_0123456789abcdefghij", "MIIEowIBAAKCAQEA"]


def _error() -> ErrorEntry:
    tail = ["[hivemind] starting the app", *SECRETS,
            "psql: error: connection to server at \"10.0.3.4\", port 5432 failed: Connection refused"]
    return ErrorEntry(deployment_id="shop-1a2b", stage="deploy", type="CommandFailed",
                      message="deploy failed on i-0abc: app_exited: the app exited with status 2",
                      context={"signature": "app_exited", "output_tail": tail}, remediation="r")


def _client() -> Any:
    return boto3.client("bedrock-runtime", region_name="us-east-1")


def _response(text: str) -> dict[str, Any]:
    return {"output": {"message": {"role": "assistant", "content": [{"text": text}]}}, "stopReason": "end_turn",
            "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15}, "metrics": {"latencyMs": 10}}


@pytest.mark.parametrize("secret", SECRETS)
def test_redact_removes_each_kind_of_secret(secret: str) -> None:
    cleaned = redact(f"before {secret} after")
    assert REDACTED in cleaned
    assert not any(value in cleaned for value in SECRET_VALUES), cleaned
    assert cleaned.startswith("before ") and cleaned.endswith(" after")


def test_redact_keeps_ordinary_lines() -> None:
    line = "ERROR: No matching distribution found for flsk==2.0 (from http://127.0.0.1:8000/simple)"
    assert redact(line) == line


def test_converse_request_and_reading() -> None:
    error = _error()
    diagnosis = diagnose_error(error)
    client = _client()
    expected = {
        "modelId": MODEL,
        "system": [{"text": SYSTEM_PROMPT}],
        "messages": [{"role": "user", "content": [{"text": prompt_for(error, diagnosis)}]}],
        "inferenceConfig": {"maxTokens": 400, "temperature": 0},
    }
    with Stubber(client) as stub:
        stub.add_response("converse", _response("The database at 10.0.3.4 is not reachable."), expected)
        reading = BedrockDiagnoser(MODEL, client=client).read(error, diagnosis)
        stub.assert_no_pending_responses()
    assert reading == "The database at 10.0.3.4 is not reachable."


def test_no_secret_reaches_bedrock() -> None:
    sent: list[dict[str, Any]] = []
    client = _client()
    client.meta.events.register("provide-client-params.bedrock-runtime.Converse",
                                lambda params, **_: sent.append(params))
    error = _error()
    with Stubber(client) as stub:
        stub.add_response("converse", _response("ok"))
        BedrockDiagnoser(MODEL, client=client).read(error, diagnose_error(error))
    text = str(sent)
    assert "Connection refused" in text  # the evidence is there...
    assert not [v for v in SECRET_VALUES if v in text]  # ...the secrets are not


def test_a_bedrock_error_propagates_for_the_caller_to_ignore() -> None:
    client = _client()
    error = _error()
    with Stubber(client) as stub:
        stub.add_client_error("converse", service_error_code="AccessDeniedException", http_status_code=403)
        with pytest.raises(client.exceptions.AccessDeniedException):
            BedrockDiagnoser(MODEL, client=client).read(error, diagnose_error(error))


def test_an_empty_answer_is_no_reading() -> None:
    client = _client()
    error = _error()
    with Stubber(client) as stub:
        stub.add_response("converse", _response("   "))
        assert BedrockDiagnoser(MODEL, client=client).read(error, diagnose_error(error)) is None


@pytest.mark.parametrize("model_id", ["", "model id with spaces", "x;rm -rf /"])
def test_a_bad_model_id_is_refused(model_id: str) -> None:
    with pytest.raises(InvalidInput, match="model id"):
        BedrockDiagnoser(model_id, client=_client())
