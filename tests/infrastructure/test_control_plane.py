"""The synthesized control plane: resources and key properties, ASL contract, cfn-lint, cdk-nag, IAM."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match
from hivemind import constants as hc

from stacks import constants as c
from stacks.constructs.api import ROUTES
from stacks.constructs.events import AUDITED_EVENTS
from stacks.constructs.workflows import asl_placeholders, expected_placeholders
from stacks.permissions import TASK_CAPABILITIES, Cap
from stacks.template_refs import refs

ALL_FUNCTIONS = (*hc.TASKS, hc.API_FUNCTION)


# --- helpers ---------------------------------------------------------------------------------------
def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _identity_statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(owner logical id, statement) for every identity-based policy statement in the template."""
    out: list[tuple[str, dict[str, Any]]] = []
    for lid, res in template["Resources"].items():
        props = res.get("Properties", {})
        if res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            docs = [props["PolicyDocument"]]
            owners = [r["Ref"] for r in props.get("Roles", [])] or [lid]
        elif res["Type"] == "AWS::IAM::Role":
            docs = [p["PolicyDocument"] for p in props.get("Policies", [])]
            owners = [lid]
        else:
            continue
        for doc in docs:
            for stmt in _as_list(doc["Statement"]):
                out.extend((owner, stmt) for owner in owners)
    return out


def _role_of_function(template: dict[str, Any], function_name: str) -> str:
    for res in template["Resources"].values():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::Lambda::Function" and props.get("FunctionName") == function_name:
            return props["Role"]["Fn::GetAtt"][0]
    raise AssertionError(f"no function named {function_name}")




def _logical_id(synth, cfn_type: str, **props: Any) -> str:
    matches = [lid for lid, r in synth.resources(cfn_type).items()
               if all(r["Properties"].get(k) == v for k, v in props.items())]
    assert len(matches) == 1, f"expected one {cfn_type} with {props}, found {matches}"
    return matches[0]


# --- state machines ----------------------------------------------------------------------------------
def test_every_state_machine_exists_with_logging_and_tracing(synth) -> None:
    machines = {r["Properties"]["StateMachineName"]: r["Properties"]
                for r in synth.resources("AWS::StepFunctions::StateMachine").values()}
    assert set(machines) == {hc.state_machine_name(w) for w in hc.WORKFLOWS}
    for props in machines.values():
        assert props["StateMachineType"] == "STANDARD"
        assert props["TracingConfiguration"] == {"Enabled": True}
        logging = props["LoggingConfiguration"]
        assert logging["Level"] == "ALL"
        assert logging["IncludeExecutionData"] is False


@pytest.mark.parametrize("workflow", sorted(hc.WORKFLOWS))
def test_asl_placeholders_equal_substitution_keys(synth, workflow: str) -> None:
    text = (c.STATEMACHINE_DIR / hc.WORKFLOWS[workflow]).read_text()
    json.loads(text)  # the ASL file is valid JSON
    props = next(r["Properties"] for r in synth.resources("AWS::StepFunctions::StateMachine").values()
                 if r["Properties"]["StateMachineName"] == hc.state_machine_name(workflow))
    keys = set(props.get("DefinitionSubstitutions", {}))
    assert asl_placeholders(text) == keys
    assert keys == expected_placeholders(workflow)
    assert json.loads(props["DefinitionString"]) == json.loads(text)


@pytest.mark.parametrize("workflow", sorted(hc.WORKFLOWS))
def test_each_machine_invokes_exactly_its_own_functions(synth, workflow: str) -> None:
    tpl = synth.template_json
    machine = next(r["Properties"] for r in synth.resources("AWS::StepFunctions::StateMachine").values()
                   if r["Properties"]["StateMachineName"] == hc.state_machine_name(workflow))
    role = machine["RoleArn"]["Fn::GetAtt"][0]
    function_ids = {lid: r["Properties"]["FunctionName"] for lid, r in synth.resources("AWS::Lambda::Function").items()}
    invoked = set()
    for owner, stmt in _identity_statements(tpl):
        if owner == role and "lambda:InvokeFunction" in _as_list(stmt["Action"]):
            invoked |= {function_ids[x] for x in refs(stmt["Resource"]) if x in function_ids}
            assert all(refs(r) for r in _as_list(stmt["Resource"])), "invoke on a non-function resource"
    assert invoked == {hc.function_name(t) for t in hc.WORKFLOW_TASKS[workflow]}
    # Substitution values are those functions' ARNs, and extras the other machines' ARNs.
    subs = machine["DefinitionSubstitutions"]
    for task in hc.WORKFLOW_TASKS[workflow]:
        assert refs(subs[hc.placeholder(task)]) == {
            next(lid for lid, n in function_ids.items() if n == hc.function_name(task))}


def test_only_retry_may_start_deploy(synth) -> None:
    deploy_id = _logical_id(synth, "AWS::StepFunctions::StateMachine", StateMachineName="hivemind-deploy")
    starters = {owner for owner, stmt in _identity_statements(synth.template_json)
                if "states:StartExecution" in _as_list(stmt["Action"]) and deploy_id in refs(stmt["Resource"])}
    retry_role = next(r["Properties"]["RoleArn"]["Fn::GetAtt"][0]
                      for r in synth.resources("AWS::StepFunctions::StateMachine").values()
                      if r["Properties"]["StateMachineName"] == "hivemind-retry")
    assert starters == {retry_role}


# --- functions -------------------------------------------------------------------------------------
def test_one_function_per_task_plus_api(synth) -> None:
    names = {r["Properties"]["FunctionName"] for r in synth.resources("AWS::Lambda::Function").values()}
    assert names == {hc.function_name(t) for t in ALL_FUNCTIONS}
    assert len(names) == len(hc.TASKS) + 1 == 16


@pytest.mark.parametrize("task", ALL_FUNCTIONS)
def test_function_properties(synth, task: str) -> None:
    props = next(r["Properties"] for r in synth.resources("AWS::Lambda::Function").values()
                 if r["Properties"]["FunctionName"] == hc.function_name(task))
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    env = props["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == hc.SERVICE
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == c.POWERTOOLS_NAMESPACE
    assert env["LOG_LEVEL"] == c.LOG_LEVEL
    for var in (c.ENV_TABLE, c.ENV_IDEMPOTENCY_TABLE, c.ENV_BUS, c.ENV_BUCKET,
                *(c.env_state_machine(w) for w in hc.WORKFLOWS)):
        assert var in env, f"{task} lacks {var}"
    if task in c.CONTAINER_TASKS:
        assert props["PackageType"] == "Image"
        assert props["ImageConfig"]["Command"] == [hc.handler_path(task)]
        assert "Runtime" not in props and "Layers" not in props
    else:
        assert props["Runtime"] == "python3.12"
        assert props["Handler"] == hc.handler_path(task)
        assert props["Layers"], "zip functions need the Powertools layer"


def test_every_function_has_its_own_role(synth) -> None:
    roles = [_role_of_function(synth.template_json, hc.function_name(t)) for t in ALL_FUNCTIONS]
    assert len(set(roles)) == len(roles)


def test_every_task_has_a_permission_row() -> None:
    assert set(TASK_CAPABILITIES) == set(ALL_FUNCTIONS)


def _actions_of(synth, task: str) -> set[str]:
    role = _role_of_function(synth.template_json, hc.function_name(task))
    return {a for owner, stmt in _identity_statements(synth.template_json) if owner == role
            for a in _as_list(stmt["Action"])}


def test_only_stack_tasks_pass_the_cloudformation_role(synth) -> None:
    cfn_role = next(lid for lid, r in synth.resources("AWS::IAM::Role").items()
                    if "CloudFormationExecutionRole" in lid)
    passers = set()
    for task in ALL_FUNCTIONS:
        role = _role_of_function(synth.template_json, hc.function_name(task))
        for owner, stmt in _identity_statements(synth.template_json):
            if owner == role and "iam:PassRole" in _as_list(stmt["Action"]) and cfn_role in refs(stmt["Resource"]):
                assert stmt["Condition"]["StringEquals"]["iam:PassedToService"] == "cloudformation.amazonaws.com"
                passers.add(task)
    expected = {t for t, caps in TASK_CAPABILITIES.items() if Cap.STACK_PROVISION in caps}
    assert passers == expected == {"provision"}


def test_cloudformation_role_is_assumable_by_cloudformation_only(synth) -> None:
    role = next(r for lid, r in synth.resources("AWS::IAM::Role").items() if "CloudFormationExecutionRole" in lid)
    statements = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in statements] == [{"Service": "cloudformation.amazonaws.com"}]


def test_read_only_tasks_cannot_change_anything_outside_hivemind_state(synth) -> None:
    writes = re.compile(r":(Create|Delete|Put(?!Events|LogEvents|TraceSegments|TelemetryRecords)|Update|"
                        r"Execute|Send|Revoke|PassRole|StartExecution)")
    # check-stack unsticks hm-* stacks (continue a failed rollback, delete again retaining what failed)
    recovery = {"check-stack": {"cloudformation:DeleteStack", "cloudformation:ContinueUpdateRollback"}}
    for task in ("check-stack", "check-command", "verify"):
        outside = {a for a in _actions_of(synth, task) if writes.search(a) and not a.startswith(("dynamodb:", "logs:"))}
        assert outside <= recovery.get(task, set()), f"{task} may {sorted(outside)}"


def test_code_asset_leaves_out_cli_local_and_caches(synth) -> None:
    zip_fn = next(r["Properties"] for r in synth.resources("AWS::Lambda::Function").values()
                  if r["Properties"]["FunctionName"] == hc.function_name("validate"))
    asset_hash = zip_fn["Code"]["S3Key"].split(".")[0]
    staged = synth.outdir / f"asset.{asset_hash}"
    assert (staged / "hivemind" / "handlers").is_dir()
    files = {p.relative_to(staged).as_posix() for p in staged.rglob("*")}
    assert not {f for f in files if f.startswith(("hivemind/cli", "hivemind/local"))}
    assert not {f for f in files if "__pycache__" in f or f.endswith(".pyc") or "egg-info" in f}
    assert not {f for f in files if f.startswith("Dockerfile")}
    # bench/lambda_cold.py sizes exactly the files CDK staged.
    bench = _load("bench_lambda_cold", c.ROOT / "bench" / "lambda_cold.py")
    staged_files = sorted(f for f in files if (staged / f).is_file())
    assert bench.asset_files(c.LAMBDAS_DIR) == staged_files


def _load(name: str, path: Path):
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# --- state, artifacts, documents --------------------------------------------------------------------
def test_deployments_table(synth) -> None:
    synth.template.has_resource("AWS::DynamoDB::Table", {
        "DeletionPolicy": "Retain",
        "Properties": {
            "TableName": hc.TABLE_NAME,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
            "SSESpecification": {"SSEEnabled": True},
            "GlobalSecondaryIndexes": [{
                "IndexName": hc.STATUS_INDEX,
                "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"},
                              {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }],
            "AttributeDefinitions": Match.array_with([{"AttributeName": "gsi1pk", "AttributeType": "S"}]),
        },
    })


def test_idempotency_table(synth) -> None:
    synth.template.has_resource_properties("AWS::DynamoDB::Table", {
        "TableName": hc.IDEMPOTENCY_TABLE_NAME,
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
        "SSESpecification": {"SSEEnabled": True},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
    })


def test_artifacts_bucket_is_private_encrypted_tls_only_versioned_logged(synth) -> None:
    bucket_id, bucket = next((lid, r) for lid, r in synth.resources("AWS::S3::Bucket").items()
                             if "BucketName" in r["Properties"])
    props = bucket["Properties"]
    assert json.dumps(props["BucketName"]).count("hivemind-artifacts-") == 1
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert sse["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "DestinationBucketName" in props["LoggingConfiguration"]
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-noncurrent"]["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
    assert rules["expire-superseded-releases"]["Prefix"] == hc.RELEASES_PREFIX
    assert rules["expire-superseded-releases"]["ExpirationInDays"] > 0
    policy = next(r["Properties"]["PolicyDocument"] for r in synth.resources("AWS::S3::BucketPolicy").values()
                  if r["Properties"]["Bucket"] == {"Ref": bucket_id})
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
               for s in policy["Statement"])


def test_ssm_documents_are_the_scripts_documents(synth) -> None:
    from hivemind.scripts import documents

    docs = {r["Properties"]["Name"]: r["Properties"] for r in synth.resources("AWS::SSM::Document").values()}
    assert set(docs) == {hc.INSTALL_DOCUMENT, hc.HARDEN_DOCUMENT}
    assert docs[hc.INSTALL_DOCUMENT]["Content"] == documents.install_document()
    assert docs[hc.HARDEN_DOCUMENT]["Content"] == documents.harden_document()
    for props in docs.values():
        assert props["DocumentType"] == "Command"
        assert props["Content"]["schemaVersion"] == "2.2"


# --- events ----------------------------------------------------------------------------------------
def test_event_bus_and_rules(synth) -> None:
    synth.template.has_resource_properties("AWS::Events::EventBus", {"Name": hc.EVENT_BUS_NAME})
    bus_id = _logical_id(synth, "AWS::Events::EventBus", Name=hc.EVENT_BUS_NAME)
    rules = {r["Properties"]["Name"]: r["Properties"] for r in synth.resources("AWS::Events::Rule").values()}
    failure = rules["hivemind-deployment-failed"]
    assert failure["EventBusName"] == {"Ref": bus_id}
    assert failure["EventPattern"] == {"source": [hc.EVENT_SOURCE], "detail-type": [hc.EV_FAILED]}
    assert set(rules["hivemind-audit"]["EventPattern"]["detail-type"]) == set(AUDITED_EVENTS)
    sweep = rules["hivemind-daily-sweep"]
    assert sweep["ScheduleExpression"] == "rate(1 day)"
    sweep_id = _logical_id(synth, "AWS::StepFunctions::StateMachine", StateMachineName="hivemind-sweep")
    assert sweep["Targets"][0]["Arn"] == {"Ref": sweep_id}


def test_cleanup_timer_prerequisites(synth) -> None:
    synth.template.has_resource_properties("AWS::Scheduler::ScheduleGroup", {"Name": c.CLEANUP_SCHEDULE_GROUP})
    role = next(r for lid, r in synth.resources("AWS::IAM::Role").items() if "CleanupSchedulerRole" in lid)
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    start, remind = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert start["Action"] == "states:StartExecution"
    assert json.dumps(start["Resource"]).endswith(':stateMachine:hivemind-destroy"]]}')
    assert remind["Action"] == "events:PutEvents" and "Bus" in json.dumps(remind["Resource"])
    # Only record-failure may hand that role to Scheduler.
    role_id = next(lid for lid in synth.resources("AWS::IAM::Role") if "CleanupSchedulerRole" in lid)
    passers = {t for t in ALL_FUNCTIONS for owner, s in _identity_statements(synth.template_json)
               if owner == _role_of_function(synth.template_json, hc.function_name(t))
               and "iam:PassRole" in _as_list(s["Action"]) and role_id in refs(s["Resource"])}
    assert passers == {"record-failure"}


# --- API ------------------------------------------------------------------------------------------
def _api_routes(synth) -> dict[tuple[str, str], dict[str, Any]]:
    resources = synth.resources("AWS::ApiGateway::Resource")

    def path_of(ref: Any) -> str:
        if "Fn::GetAtt" in ref:  # the root resource
            return ""
        res = resources[ref["Ref"]]["Properties"]
        return f"{path_of(res['ParentId'])}/{res['PathPart']}"

    return {(m["Properties"]["HttpMethod"], path_of({"Ref": m["Properties"]["ResourceId"]["Ref"]})): m["Properties"]
            for m in synth.resources("AWS::ApiGateway::Method").values()}


def test_api_routes_with_iam_auth_and_validation(synth) -> None:
    routes = _api_routes(synth)
    assert set(routes) == set(ROUTES)
    api_fn = _logical_id(synth, "AWS::Lambda::Function", FunctionName=hc.function_name(hc.API_FUNCTION))
    for (method, path), props in routes.items():
        assert props["AuthorizationType"] == "AWS_IAM", (method, path)
        assert props["Integration"]["Type"] == "AWS_PROXY"
        assert api_fn in refs(props["Integration"]["Uri"])
        assert "RequestValidatorId" in props
        if "{id}" in path:
            assert props["RequestParameters"] == {"method.request.path.id": True}
    assert "application/json" in routes[("POST", "/deployments")]["RequestModels"]
    synth.template.has_resource_properties("AWS::ApiGateway::RequestValidator",
                                           {"ValidateRequestBody": True, "ValidateRequestParameters": True})


def test_api_stage_logs_access_and_traces(synth) -> None:
    synth.template.has_resource_properties("AWS::ApiGateway::Stage", {
        "StageName": c.API_STAGE,
        "TracingEnabled": True,
        "AccessLogSetting": {"DestinationArn": Match.any_value(), "Format": Match.string_like_regexp("requestId")},
        "MethodSettings": [Match.object_like({"DataTraceEnabled": False, "LoggingLevel": "INFO"})],
    })


# --- monitoring and outputs -------------------------------------------------------------------------
def test_alarms_cover_machines_functions_and_api(synth) -> None:
    alarms = {r["Properties"]["AlarmName"]: r["Properties"] for r in synth.resources("AWS::CloudWatch::Alarm").values()}
    expected = ({f"hivemind-{w}-failed" for w in hc.WORKFLOWS}
                | {f"hivemind-{t}-{k}" for t in ALL_FUNCTIONS for k in ("errors", "throttles")}
                | {"hivemind-api-5xx"})
    assert set(alarms) == expected
    topic = next(iter(synth.resources("AWS::SNS::Topic")))
    for props in alarms.values():
        assert props["AlarmActions"] == [{"Ref": topic}]
    assert {a["MetricName"] for a in alarms.values()} == {"ExecutionsFailed", "Errors", "Throttles", "5XXError"}
    synth.template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    synth.template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})


def test_outputs(synth) -> None:
    outputs = synth.template_json["Outputs"]
    for key in (hc.OUT_API_URL, hc.OUT_TABLE, hc.OUT_BUS, hc.OUT_BUCKET, *(hc.out_state_machine(w) for w in hc.WORKFLOWS)):
        assert key in outputs, key
    table_id = _logical_id(synth, "AWS::DynamoDB::Table", TableName=hc.TABLE_NAME)
    assert outputs[hc.OUT_TABLE]["Value"] == {"Ref": table_id}
    for w in hc.WORKFLOWS:
        sm = _logical_id(synth, "AWS::StepFunctions::StateMachine", StateMachineName=hc.state_machine_name(w))
        assert outputs[hc.out_state_machine(w)]["Value"] == {"Ref": sm}


# --- quality bars -----------------------------------------------------------------------------------
# W3005 ("dependency already enforced by a GetAtt"): CDK renders a function's dependency on its
# role (and the role's DefaultPolicy) as DependsOn even though Role: GetAtt already implies the
# role part. The redundancy is generated by the framework, harmless, and not ours to remove.
CFN_LINT_IGNORED = {"W3005"}


def test_cfn_lint_has_no_errors_or_warnings(synth) -> None:
    from cfnlint.api import ManualArgs, lint

    text = json.dumps(synth.template_json)
    matches = lint(text, config=ManualArgs(regions=["us-east-1", "eu-west-1"], ignore_checks=sorted(CFN_LINT_IGNORED)))
    findings = [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches]
    assert findings == []


def test_cdk_nag_has_no_unsuppressed_findings(synth) -> None:
    problems = [m for m in synth.messages if m[0] in ("ERROR", "WARNING")]
    assert problems == []
    # The checks really ran: the report lists rules, and compliant ones among them.
    with (synth.outdir / f"AwsSolutions--{hc.CONTROL_PLANE_STACK}-NagReport.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {r["Rule ID"] for r in rows} >= {"AwsSolutions-IAM5", "AwsSolutions-S1", "AwsSolutions-SF1"}
    assert {r["Compliance"] for r in rows} <= {"Compliant", "Suppressed"}


def test_every_suppression_has_a_reason(synth) -> None:
    suppressions = [s for r in synth.template_json["Resources"].values()
                    for s in r.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])]
    assert suppressions, "suppressions are expected (L1, IAM5, ...): did cdk-nag metadata move?"
    for s in suppressions:
        assert len(s["reason"]) >= 40, s


def test_no_star_action_with_star_resource(synth) -> None:
    for owner, stmt in _identity_statements(synth.template_json):
        if stmt.get("Effect", "Allow") != "Allow":
            continue
        assert not ("*" in _as_list(stmt["Action"]) and "*" in _as_list(stmt["Resource"])), owner


def test_star_resource_only_on_unscopable_actions(synth) -> None:
    offenders = []
    for owner, stmt in _identity_statements(synth.template_json):
        if "*" in _as_list(stmt.get("Resource", [])):
            offenders += [(owner, a) for a in _as_list(stmt["Action"]) if a not in c.UNSCOPABLE_ACTIONS]
    assert offenders == []


def test_no_service_wide_actions_outside_the_cloudformation_role(synth) -> None:
    offenders = [(o, a) for o, s in _identity_statements(synth.template_json) for a in _as_list(s["Action"])
                 if a.endswith(":*") and "CloudFormationExecutionRole" not in o]
    assert offenders == []


# --- the CLI path -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_cdk_cli_synth_matches_in_process_synth(cli_synth, synth) -> None:
    result = cli_synth.result
    assert result.returncode == 0, result.stderr[-3000:]
    template = json.loads((cli_synth.outdir / f"{hc.CONTROL_PLANE_STACK}.template.json").read_text())

    def shape(t: dict[str, Any]) -> dict[str, str]:
        # An API deployment's logical id ends with a hash of the API (it changes with the code
        # asset, which other work may edit between the two syntheses); drop the hash.
        return {(k[:-32] if v["Type"] == "AWS::ApiGateway::Deployment" else k): v["Type"]
                for k, v in t["Resources"].items() if v["Type"] != "AWS::CDK::Metadata"}

    assert shape(template) == shape(synth.template_json)
    assert "AwsSolutions-" not in result.stderr, "cdk-nag reported findings in the CLI synth"


# --- packaging ------------------------------------------------------------------------------------
def test_analyze_dockerfile_matches_pyproject_and_handler() -> None:
    import tomllib

    from stacks.build_layer import normalize, requirement_name

    text = (c.LAMBDAS_DIR / c.ANALYZE_DOCKERFILE).read_text()
    assert re.search(r"^FROM public\.ecr\.aws/lambda/python:3\.12-arm64$", text, re.M)
    assert re.search(r"^RUN dnf install -y git\b", text, re.M)
    installed = {requirement_name(r): re.sub(r"\[[^\]]*\]", "", r) for r in re.findall(r'"([^"]+)"', text.split("COPY")[0])}
    pyproject = tomllib.loads((Path(c.ROOT) / "pyproject.toml").read_text())["project"]["dependencies"]
    wanted = {requirement_name(r): r for r in pyproject if requirement_name(r) != "boto3"}
    assert {k: v for k, v in installed.items() if k in wanted} == wanted
    assert set(wanted) <= set(installed)
    cmd = re.search(r'^CMD \["([^"]+)"\]', text, re.M)
    assert cmd and cmd.group(1) == hc.handler_path("analyze")
    assert normalize("GitPython") in installed


def test_every_unscopable_action_is_really_used(synth) -> None:
    """The allow-list of Resource "*" actions holds nothing the template does not need."""
    used = {a for _, s in _identity_statements(synth.template_json) if "*" in _as_list(s.get("Resource", []))
            for a in _as_list(s["Action"])}
    assert set(c.UNSCOPABLE_ACTIONS) - used == set()


@pytest.mark.parametrize("task", ALL_FUNCTIONS)
def test_idempotency_grant_matches_the_handler(task: str) -> None:
    """A handler using Powertools idempotency needs the idempotency table, and only then gets it."""
    source = (c.LAMBDAS_DIR / "hivemind" / "handlers" / f"{task.replace('-', '_')}.py").read_text()
    uses = "idempotent_function" in source or "idempotency()" in source
    assert uses == (Cap.IDEMPOTENCY in TASK_CAPABILITIES[task])
