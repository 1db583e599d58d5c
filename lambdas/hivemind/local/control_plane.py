"""Create the control plane in the emulator: the same resources and names as the CDK app.

Everything is named from ``hivemind.constants`` and the state machines come from the SAME ASL
files (``statemachine/*.asl.json``) through ``hivemind.asl.render`` — never a local variant.
``bootstrap`` is idempotent: it creates what is missing and leaves what exists.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from hivemind import asl, constants
from hivemind.local.context import ACCOUNT_ID, DUMMY_CREDENTIALS, REGION

log = logging.getLogger("hivemind.local.control_plane")

LAMBDA_ROLE = "hivemind-local-lambda"
SCHEDULER_ROLE = "hivemind-local-scheduler"
SCHEDULE_GROUP = "hivemind-cleanup"
RUNTIME = "python3.12"
# Local functions get one generous timeout: it only feeds get_remaining_time_in_millis().
FUNCTION_TIMEOUT_S = 900
FUNCTION_MEMORY_MB = 1024

_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com", "scheduler.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}


def state_machine_arn(workflow: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{constants.state_machine_name(workflow)}"


def function_arn(task: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{constants.function_name(task)}"


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"


def function_environment() -> dict[str, str]:
    """The environment every control-plane function gets (the CDK app sets the same keys)."""
    return {
        "HIVEMIND_TABLE_NAME": constants.TABLE_NAME,
        "HIVEMIND_IDEMPOTENCY_TABLE_NAME": constants.IDEMPOTENCY_TABLE_NAME,
        "HIVEMIND_EVENT_BUS_NAME": constants.EVENT_BUS_NAME,
        "HIVEMIND_ARTIFACTS_BUCKET": constants.artifacts_bucket_name(ACCOUNT_ID, REGION),
        "HIVEMIND_DEPLOY_STATE_MACHINE_ARN": state_machine_arn("deploy"),
        "HIVEMIND_DESTROY_STATE_MACHINE_ARN": state_machine_arn("destroy"),
        "HIVEMIND_RETRY_STATE_MACHINE_ARN": state_machine_arn("retry"),
        "HIVEMIND_CLEANUP_SCHEDULE_GROUP": SCHEDULE_GROUP,
        "HIVEMIND_CLEANUP_ROLE_ARN": role_arn(SCHEDULER_ROLE),
        "HIVEMIND_LOCAL": "true",
        "POWERTOOLS_SERVICE_NAME": constants.SERVICE,
        "POWERTOOLS_METRICS_NAMESPACE": "HiveMind",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "LOG_LEVEL": "INFO",
    }


@dataclass
class BootstrapReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"created": self.created, "existing": self.existing, "skipped": self.skipped}


def _exists(call: Any, *codes: str) -> bool:
    """Run a describe call: True if it answers, False on one of the not-found ``codes``."""
    try:
        call()
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] in codes:
            return False
        raise


def _code_zip() -> bytes:
    """A placeholder package: the handler is imported from this process, not from the zip."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README.txt", "HiveMind local cloud: handlers run in-process from the installed package.\n")
    return buf.getvalue()


def _documents() -> dict[str, dict[str, Any]]:
    """The SSM Command documents run on application instances (from hivemind.scripts.documents)."""
    from hivemind.scripts import documents  # written alongside the scripts; imported lazily

    docs = {
        constants.INSTALL_DOCUMENT: documents.install_document(),
        constants.HARDEN_DOCUMENT: documents.harden_document(),
    }
    stop_name = getattr(constants, "STOP_DOCUMENT", None)
    if stop_name and hasattr(documents, "stop_document"):
        docs[stop_name] = documents.stop_document()
    return docs


def render_workflow(workflow: str) -> str:
    """The workflow's ASL with every placeholder filled with a local ARN."""
    text = asl.asl_path(workflow).read_text()
    values: dict[str, str] = {}
    by_placeholder = {constants.placeholder(t): function_arn(t) for t in (*constants.TASKS, constants.API_FUNCTION)}
    by_placeholder.update({constants.out_state_machine(w): state_machine_arn(w) for w in constants.WORKFLOWS})
    unknown = []
    for name in sorted(asl.placeholders(text)):
        if name in by_placeholder:
            values[name] = by_placeholder[name]
        else:
            unknown.append(name)
    if unknown:
        raise ValueError(f"{constants.WORKFLOWS[workflow]}: no local value for placeholders {unknown}")
    return asl.render(workflow, values)


class Bootstrapper:
    def __init__(self, endpoint_url: str) -> None:
        session = boto3.session.Session(aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                                        region_name=REGION)
        kwargs = {"endpoint_url": endpoint_url, "region_name": REGION}
        self.ddb = session.client("dynamodb", **kwargs)
        self.s3 = session.client("s3", **kwargs)
        self.events = session.client("events", **kwargs)
        self.iam = session.client("iam", **kwargs)
        self.lam = session.client("lambda", **kwargs)
        self.ssm = session.client("ssm", **kwargs)
        self.sfn = session.client("stepfunctions", **kwargs)
        self.scheduler = session.client("scheduler", **kwargs)
        self.report = BootstrapReport()

    def _note(self, created: bool, what: str) -> None:
        (self.report.created if created else self.report.existing).append(what)

    def tables(self) -> None:
        main = constants.TABLE_NAME
        if not _exists(lambda: self.ddb.describe_table(TableName=main), "ResourceNotFoundException"):
            self.ddb.create_table(
                TableName=main,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[
                    {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")
                ],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                GlobalSecondaryIndexes=[
                    {
                        "IndexName": constants.STATUS_INDEX,
                        "KeySchema": [
                            {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                            {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ],
            )
            self.ddb.update_time_to_live(
                TableName=main, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
            )
            self._note(True, f"table {main}")
        else:
            self._note(False, f"table {main}")
        idem = constants.IDEMPOTENCY_TABLE_NAME
        if not _exists(lambda: self.ddb.describe_table(TableName=idem), "ResourceNotFoundException"):
            self.ddb.create_table(
                TableName=idem,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            )
            self.ddb.update_time_to_live(
                TableName=idem, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
            )
            self._note(True, f"table {idem}")
        else:
            self._note(False, f"table {idem}")

    def bucket_and_bus(self) -> None:
        bucket = constants.artifacts_bucket_name(ACCOUNT_ID, REGION)
        if not _exists(lambda: self.s3.head_bucket(Bucket=bucket), "404", "NoSuchBucket"):
            self.s3.create_bucket(Bucket=bucket)
            self._note(True, f"bucket {bucket}")
        else:
            self._note(False, f"bucket {bucket}")
        bus = constants.EVENT_BUS_NAME
        if not _exists(lambda: self.events.describe_event_bus(Name=bus), "ResourceNotFoundException"):
            self.events.create_event_bus(Name=bus)
            self._note(True, f"event bus {bus}")
        else:
            self._note(False, f"event bus {bus}")

    def roles(self) -> None:
        for name in (LAMBDA_ROLE, SCHEDULER_ROLE):
            if not _exists(lambda n=name: self.iam.get_role(RoleName=n), "NoSuchEntity"):
                self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(_TRUST))
                self._note(True, f"role {name}")
            else:
                self._note(False, f"role {name}")

    def functions(self, environment: Mapping[str, str]) -> None:
        code = _code_zip()
        for task in (*constants.TASKS, constants.API_FUNCTION):
            name = constants.function_name(task)
            if _exists(lambda n=name: self.lam.get_function(FunctionName=n), "ResourceNotFoundException"):
                self._note(False, f"function {name}")
                continue
            self.lam.create_function(
                FunctionName=name,
                Runtime=RUNTIME,
                Role=role_arn(LAMBDA_ROLE),
                Handler=constants.handler_path(task),
                Code={"ZipFile": code},
                Timeout=FUNCTION_TIMEOUT_S,
                MemorySize=FUNCTION_MEMORY_MB,
                Environment={"Variables": dict(environment)},
                Tags={constants.TAG_MANAGED_BY: constants.SERVICE},
            )
            self._note(True, f"function {name}")

    def documents(self) -> None:
        try:
            docs = _documents()
        except ImportError as exc:
            self.report.skipped["ssm documents"] = f"hivemind.scripts.documents not importable: {exc}"
            log.warning("SSM documents skipped: %s", exc)
            return
        for name, content in docs.items():
            body = json.dumps(content)
            try:
                self.ssm.describe_document(Name=name)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "InvalidDocument":
                    raise
                self.ssm.create_document(Name=name, Content=body, DocumentType="Command", DocumentFormat="JSON")
                self._note(True, f"document {name}")
                continue
            try:
                self.ssm.update_document(Name=name, Content=body, DocumentVersion="$LATEST", DocumentFormat="JSON")
                self.ssm.update_document_default_version(
                    Name=name, DocumentVersion=self.ssm.describe_document(Name=name)["Document"]["LatestVersion"]
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "DuplicateDocumentContent":
                    raise
            self._note(False, f"document {name}")

    def state_machines(self) -> None:
        for workflow in constants.WORKFLOWS:
            name = constants.state_machine_name(workflow)
            path = asl.asl_path(workflow)
            if not path.exists():
                self.report.skipped[f"state machine {name}"] = f"{path} does not exist"
                log.warning("state machine %s skipped: %s does not exist", name, path)
                continue
            definition = render_workflow(workflow)
            arn = state_machine_arn(workflow)
            if _exists(lambda a=arn: self.sfn.describe_state_machine(stateMachineArn=a), "StateMachineDoesNotExist"):
                self.sfn.update_state_machine(stateMachineArn=arn, definition=definition)
                self._note(False, f"state machine {name}")
            else:
                self.sfn.create_state_machine(name=name, definition=definition, roleArn=role_arn(LAMBDA_ROLE))
                self._note(True, f"state machine {name}")

    def schedule_group(self) -> None:
        if not _exists(lambda: self.scheduler.get_schedule_group(Name=SCHEDULE_GROUP), "ResourceNotFoundException"):
            self.scheduler.create_schedule_group(Name=SCHEDULE_GROUP)
            self._note(True, f"schedule group {SCHEDULE_GROUP}")
        else:
            self._note(False, f"schedule group {SCHEDULE_GROUP}")


def bootstrap(endpoint_url: str, environment: Mapping[str, str] | None = None) -> BootstrapReport:
    """Create (or complete) the control plane in the emulator at ``endpoint_url``."""
    b = Bootstrapper(endpoint_url)
    env = dict(environment if environment is not None else function_environment())
    # Functions need their role to exist (Lambda checks it); the other steps are independent
    # (names and ARNs are computed, not looked up). Most of their time is the emulator loading
    # each service on first use, so they run side by side.
    b.roles()
    steps = [b.tables, b.bucket_and_bus, lambda: b.functions(env), b.documents, b.state_machines,
             b.schedule_group]
    with ThreadPoolExecutor(max_workers=len(steps)) as pool:
        for future in [pool.submit(step) for step in steps]:
            future.result()
    return b.report
