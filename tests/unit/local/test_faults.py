"""The fault middleware: which requests it matches, and that botocore reads its answers as the injected code."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.parsers import create_parser
from hivemind.errors import InvalidInput
from hivemind.local import faults

SCOPE = "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=x"


def _environ(service: str, *, target: str = "", form: str = "", query: str = "") -> dict[str, Any]:
    body = form.encode()
    env: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "QUERY_STRING": query,
        "HTTP_AUTHORIZATION": SCOPE.format(service=service),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    if target:
        env["HTTP_X_AMZ_TARGET"] = target
        env["CONTENT_TYPE"] = "application/x-amz-json-1.0"
    if form:
        env["CONTENT_TYPE"] = "application/x-www-form-urlencoded; charset=utf-8"
    return env


class Recorder:
    """A stand-in for moto: records that it was called and what body it read."""

    def __init__(self) -> None:
        self.calls: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.calls.append(environ["wsgi.input"].read(length))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"moto"]


def _call(app: Any, environ: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


def _parse(service: str, operation: str, status: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Parse an answer exactly as botocore's client would (the service model's protocol parser)."""
    model = botocore.session.get_session().get_service_model(service)
    op = model.operation_model(operation)
    parser = create_parser(model.metadata["protocol"])
    response = {"status_code": int(status.split()[0]), "headers": {k.lower(): v for k, v in headers.items()},
                "body": body}
    return parser.parse(response, op.output_shape)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.mark.parametrize(
    ("botocore_name", "service", "operation", "environ_kw", "code", "status"),
    [
        ("cloudformation", "cloudformation", "CreateChangeSet",
         {"form": "Action=CreateChangeSet&Version=2010-05-15&StackName=s"}, "AccessDenied", 403),
        ("cloudformation", "cloudformation", "DescribeStacks",
         {"form": "Action=DescribeStacks&Version=2010-05-15"}, "Throttling", 400),
        ("elbv2", "elasticloadbalancing", "DescribeLoadBalancers",
         {"query": "Action=DescribeLoadBalancers&Version=2015-12-01"}, "LoadBalancerNotFound", 400),
        ("ec2", "ec2", "DescribeInstances", {"form": "Action=DescribeInstances&Version=2016-11-15"},
         "UnauthorizedOperation", 403),
        ("dynamodb", "dynamodb", "PutItem", {"target": "DynamoDB_20120810.PutItem"},
         "ProvisionedThroughputExceededException", 400),
        ("ssm", "ssm", "SendCommand", {"target": "AmazonSSM.SendCommand"}, "InvalidInstanceId", 400),
        ("stepfunctions", "states", "StartExecution", {"target": "AWSStepFunctions.StartExecution"},
         "ExecutionLimitExceeded", 400),
    ],
)
def test_botocore_parses_the_injected_error_code_and_message(state_dir: Path, botocore_name: str, service: str,
                                                             operation: str, environ_kw: dict[str, str],
                                                             code: str, status: int) -> None:
    faults.inject(state_dir, {"service": botocore_name, "action": operation, "error": code, "status": status,
                              "message": f"injected <{code}> & co"})
    moto = Recorder()
    got_status, headers, body = _call(faults.wrap(moto, state_dir), _environ(service, **environ_kw))
    assert moto.calls == []
    assert got_status.startswith(str(status))
    parsed = _parse(botocore_name, operation, got_status, headers, body)
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == f"injected <{code}> & co"


def test_other_actions_and_services_pass_through_with_the_body_intact(state_dir: Path) -> None:
    faults.inject(state_dir, {"service": "cloudformation", "action": "CreateStack", "error": "AccessDenied"})
    moto = Recorder()
    app = faults.wrap(moto, state_dir)
    form = "Action=DescribeStacks&Version=2010-05-15"
    status, _, body = _call(app, _environ("cloudformation", form=form))
    assert (status, body) == ("200 OK", b"moto")
    assert moto.calls == [form.encode()]  # moto still reads the whole form after the middleware peeked
    _call(app, _environ("ec2", form="Action=CreateStack&Version=2016-11-15"))
    assert len(moto.calls) == 2
    assert faults.read_faults(state_dir)[0]["times"] == 1  # not consumed by the non-matching calls


def test_times_counts_down_and_minus_one_means_always(state_dir: Path) -> None:
    faults.inject(state_dir, {"service": "dynamodb", "action": "GetItem", "error": "ThrottlingException", "times": 2})
    faults.inject(state_dir, {"service": "dynamodb", "action": "Query", "error": "InternalServerError",
                              "status": 500, "times": -1})
    moto = Recorder()
    app = faults.wrap(moto, state_dir)
    codes = [_call(app, _environ("dynamodb", target="DynamoDB_20120810.GetItem"))[0][:3] for _ in range(3)]
    assert codes == ["400", "400", "200"]
    for _ in range(5):
        assert _call(app, _environ("dynamodb", target="DynamoDB_20120810.Query"))[0].startswith("500")
    stored = faults.read_faults(state_dir)
    assert [(e["times"], e["hits"]) for e in stored] == [(0, 2), (-1, 5)]


def test_a_service_wide_entry_matches_every_action_and_aliases_resolve(state_dir: Path) -> None:
    faults.inject(state_dir, {"service": "stepfunctions", "error": "ThrottlingException", "times": -1})
    moto = Recorder()
    app = faults.wrap(moto, state_dir)
    for target in ("AWSStepFunctions.StartExecution", "AWSStepFunctions.DescribeExecution"):
        assert _call(app, _environ("states", target=target))[0].startswith("400")
    assert moto.calls == []


def test_delay_passes_the_call_through(state_dir: Path) -> None:
    faults.inject(state_dir, {"service": "ssm", "action": "GetCommandInvocation", "delay_s": 0.01})
    moto = Recorder()
    status, _, body = _call(faults.wrap(moto, state_dir), _environ("ssm", target="AmazonSSM.GetCommandInvocation"))
    assert (status, body) == ("200 OK", b"moto")
    assert faults.read_faults(state_dir)[0]["hits"] == 1


def test_unsigned_requests_and_no_file_pass_through(state_dir: Path) -> None:
    moto = Recorder()
    app = faults.wrap(moto, state_dir)
    assert _call(app, _environ("cloudformation", form="Action=CreateStack"))[0] == "200 OK"  # no file
    faults.inject(state_dir, {"service": "cloudformation", "error": "AccessDenied", "times": -1})
    env = _environ("cloudformation", form="Action=CreateStack")
    del env["HTTP_AUTHORIZATION"]  # e.g. /moto-api/ calls
    assert _call(app, env)[0] == "200 OK"
    faults.clear(state_dir)
    assert not (state_dir / faults.FAULTS_FILE).exists()
    assert _call(app, _environ("cloudformation", form="Action=CreateStack"))[0] == "200 OK"


def test_lambda_and_api_entries_share_one_file(state_dir: Path) -> None:
    faults.inject(state_dir, {"function": "hivemind-plan", "error": "KeyError"})
    faults.inject(state_dir, {"service": "cloudformation", "action": "CreateStack", "error": "AccessDenied"})
    assert faults.take_api_fault("cloudformation", "CreateStack", state_dir)["error"] == "AccessDenied"
    assert faults.take_lambda_fault("hivemind-analyze", state_dir) is None
    assert faults.take_lambda_fault("hivemind-plan", state_dir)["error"] == "KeyError"
    assert faults.take_lambda_fault("hivemind-plan", state_dir) is None


def test_an_unreadable_file_means_no_faults(state_dir: Path) -> None:
    (state_dir / faults.FAULTS_FILE).write_text("{not json")
    assert faults.take_api_fault("ssm", "SendCommand", state_dir) is None
    (state_dir / faults.FAULTS_FILE).write_text(json.dumps({"service": "ssm"}))
    assert faults.take_api_fault("ssm", "SendCommand", state_dir) is None


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"error": "AccessDenied"}, "exactly one of 'function'"),
        ({"service": "ssm", "function": "hivemind-plan", "error": "X"}, "exactly one of 'function'"),
        ({"service": "ssm", "error": "X", "times": -2}, "'times'"),
        ({"service": "ssm", "error": "X", "times": "1"}, "'times'"),
        ({"service": "ssm"}, "needs an 'error'"),
        ({"function": "hivemind-plan", "delay_s": 1}, "needs an 'error'"),
        ({"service": "ssm", "error": "X", "status": 200}, "'status'"),
        ({"service": "ssm", "error": "X", "delay_s": -1}, "'delay_s'"),
        ({"service": "ssm", "error": "X", "skip": -1}, "'skip'"),
        ({"service": "ssm", "error": "X", "when": "after"}, "'when'"),
    ],
)
def test_bad_entries_are_refused_with_the_reason(state_dir: Path, entry: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        faults.inject(state_dir, entry)
    assert faults.read_faults(state_dir) == []


def test_skip_lets_the_first_matching_calls_through(state_dir: Path) -> None:
    faults.inject(state_dir, {"service": "cloudformation", "action": "DescribeStacks", "error": "Throttling",
                              "skip": 1, "times": 2})
    taken = [faults.take_api_fault("cloudformation", "DescribeStacks", state_dir) for _ in range(4)]
    assert [t["error"] if t else None for t in taken] == [None, "Throttling", "Throttling", None]
    stored = faults.read_faults(state_dir)[0]
    assert (stored["skip"], stored["times"], stored["hits"]) == (0, 0, 2)


def test_a_late_lambda_fault_runs_the_handler_first(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from hivemind.local import lambda_runtime

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(lambda_runtime, "load_handler", lambda _path: lambda event, _ctx: calls.append(event) or 1)
    monkeypatch.setattr(faults, "faults_path", lambda _dir=None: state_dir / faults.FAULTS_FILE)
    fn = SimpleNamespace(function_name="hivemind-analyze", handler="x.y", function_arn="arn", memory_size=128,
                         timeout=5, version="$LATEST")
    faults.inject(state_dir, {"function": "hivemind-analyze", "error": "Sandbox.Timedout", "when": "after"})
    faults.inject(state_dir, {"function": "hivemind-analyze", "error": "KeyError"})
    payload, error = lambda_runtime.run_handler(fn, b'{"n": 1}')
    assert error == "Unhandled" and json.loads(payload)["errorType"] == "Sandbox.Timedout"
    assert calls == [{"n": 1}]  # the handler ran, then the answer became the error
    payload, error = lambda_runtime.run_handler(fn, b'{"n": 2}')
    assert json.loads(payload)["errorType"] == "KeyError" and calls == [{"n": 1}]  # "before": never called
    assert lambda_runtime.run_handler(fn, b'{"n": 3}') == (b"1", None)
