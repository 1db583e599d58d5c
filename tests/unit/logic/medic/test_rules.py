"""Every rule against realistic failures (real captured output where it can be made here) and near misses.

The ``outputs/`` files are real output of install-release.sh, pip, npm, go and psql (see its README).
"""

from __future__ import annotations

import pytest
from hivemind.logic.medic import diagnose_error
from hivemind.logic.medic.rule import error_lines
from hivemind.models import ErrorEntry

from ._errors import caught, client_error, command, health, output, script, stack

ROLE = "arn:aws:sts::123456789012:assumed-role/hivemind-provision/hivemind-provision"

# (rule id, the error, facts the diagnosis must have read from it)
CASES: list[tuple[str, ErrorEntry, dict]] = [
    # --- dependencies and build ------------------------------------------------------------------
    ("dependency-install-failed",
     command(script("dependency_install_failed", "pip could not install the dependencies of r-1", output("pip.txt"))),
     {"package": "flsk==2.0", "manager": "pip"}),
    ("dependency-install-failed",
     command(script("dependency_install_failed", "npm could not install the dependencies of r-1", output("npm.txt"))),
     {"package": "expresss@^4.18.0", "manager": "npm"}),
    ("dependency-install-failed",
     command(script("dependency_install_failed", "go could not install the dependencies of r-1", output("go.txt"))),
     {"package": "github.com/gorilla/muxx@v1.8.0", "manager": "go"}),
    # no HIVEMIND_ERROR line (an older script, a raw command): the pip lines alone are enough
    ("dependency-install-failed", command(output("pip.txt")), {"package": "flsk==2.0"}),
    ("build-failed",
     command(script("build_failed", "the build command failed: go build -o app .", output("go-compile.txt"))),
     {"first_error": "./main.go:2:19: undefined: undefinedThing", "command": "go build -o app ."}),
    # --- start ---------------------------------------------------------------------------------
    ("missing-start-script",
     command(script("app_exited", "the app exited with status 1 shortly after it started; read the app log below",
                    output("npm-missing.txt"))),
     {"script": "start"}),
    ("missing-start-script",
     command(script("app_exited", "the app exited with status 2 shortly after it started; read the app log below",
                    "python3: can't open file '/opt/hivemind/shop/releases/r-1/app.py': [Errno 2] No such file or "
                    "directory")),
     {"entry_point": "/opt/hivemind/shop/releases/r-1/app.py"}),
    ("missing-start-script",
     command(script("app_exited", "the app exited with status 127 shortly after it started",
                    "/opt/hivemind/shop/run.sh: line 4: exec: gunicorn: not found")),
     {"program": "gunicorn"}),
    ("module-not-found",
     command(script("app_exited", "the app exited with status 1 shortly after it started", output("py-mnf.txt"))),
     {"module": "flaskk"}),
    ("module-not-found",
     command(script("app_exited", "the app exited with status 1 shortly after it started", output("node-cnf.txt"))),
     {"module": "expresss"}),
    ("module-not-found",
     command(script("build_failed", "the build command failed: go build -o app .", output("go-noreq2.txt"))),
     {"module": "github.com/gorilla/mux"}),
    ("module-not-found",
     command(script("build_failed", "the build command failed: go build -o app .", output("go-noreq.txt"))),
     {"module": "github.com/gorilla/mux"}),
    ("app-exited", command(output("install-crash-on-start.txt")),
     {"error": "RuntimeError: crash-on-start: this app fails while starting (a failure-test fixture)",
      "exit_status": "1"}),
    ("wrong-port", command(output("install-wrong-port.txt")), {"listening_port": "5999", "expected_port": "49405"}),
    ("binds-localhost", command(output("install-localhost-only.txt")), {"address": "127.0.0.1:41419"}),
    ("port-in-use",
     command(script("port_in_use", "port 8000 is already taken by another process (python3[4242] "
                    "0.0.0.0:8000): stop it or choose another port")),
     {"port": "8000", "holder": "python3[4242] 0.0.0.0:8000"}),
    ("port-in-use",
     command(script("app_exited", "the app exited with status 1 shortly after it started", output("node-inuse.txt"))),
     {"port": "18998"}),
    ("port-in-use",
     command(script("app_exited", "the app exited with status 1 shortly after it started", output("py-inuse.txt"))),
     {}),
    # --- health --------------------------------------------------------------------------------
    ("health-404", health("health_404", status=404, body="Not Found"), {}),
    ("health-404",
     command(script("health_check_failed", "http://127.0.0.12:8000/healthz answered HTTP 404 for 60s: the health "
                    "path /healthz does not exist in the app")),
     {"health_path": "/healthz"}),
    ("health-5xx", health("health_5xx", status=500, body="Internal Server Error",
                          targets=[{"id": "i-0abc", "state": "healthy"}]), {"status": "500"}),
    ("health-5xx", health("no_healthy_targets", status=503, body="",
                          targets=[{"id": "i-0abc", "state": "unhealthy"}]), {"status": "503"}),
    ("health-5xx",
     command(script("health_check_failed", "http://127.0.0.12:8000/ answered HTTP 503, not 2xx/3xx, for 8s "
                    "(it said: {\"detail\":\"DATABASE_URL is not set\"})")),
     {"status": "503"}),
    ("health-timeout", health("health_timeout", status=None, error="timed out"), {}),
    ("health-timeout",
     command(script("health_check_failed", "nothing answered at http://127.0.0.12:8000/ within 60s (the app "
                    "listens on no TCP port)")),
     {"url": "http://127.0.0.12:8000/", "listens": "no TCP port"}),
    # --- database ------------------------------------------------------------------------------
    ("db-connection-refused",
     command(script("app_exited", "the app exited with status 2 shortly after it started", output("pg-refused.txt"))),
     {"host": "127.0.0.1", "port": "18997"}),
    ("db-connection-refused",
     health("health_5xx", status=500, body="Error: connect ECONNREFUSED 10.0.12.7:5432\n    at TCPConnectWrap",
            targets=[{"id": "i-0abc", "state": "healthy"}]),
     {"host": "10.0.12.7", "port": "5432"}),
    ("db-auth-failed",
     command(script("health_check_failed", "http://127.0.0.12:8000/ answered HTTP 500, not 2xx/3xx, for 60s",
                    output("pg-auth.txt"))),
     {"user": "app"}),
    ("db-auth-failed",
     command(script("app_exited", "the app exited with status 1 shortly after it started",
                    "sqlalchemy.exc.OperationalError: (pymysql.err.OperationalError) (1045, \"Access denied for "
                    "user 'shop'@'10.0.1.23' (using password: YES)\")")),
     {"user": "shop"}),
    # --- CloudFormation --------------------------------------------------------------------------
    ("stack-limit-exceeded",
     stack("ROLLBACK_COMPLETE", "Resource handler returned message: \"The maximum number of VPCs has been reached. "
           "(Service: Ec2, Status Code: 400, Request ID: 5d3c)\" (HandlerErrorCode: ServiceLimitExceeded)"),
     {"resource": "Vpc"}),
    ("stack-limit-exceeded",
     caught("ClientError", client_error("LimitExceededException", "Limit for number of stacks (2000) exceeded",
                                        "CreateChangeSet")),
     {"code": "LimitExceededException"}),
    ("stack-access-denied",
     caught("ClientError", client_error("AccessDenied", f"User: {ROLE} is not authorized to perform: "
                                        "cloudformation:CreateChangeSet", "CreateChangeSet")),
     {"action": "cloudformation:CreateChangeSet", "principal": ROLE}),
    ("stack-access-denied",
     stack("ROLLBACK_COMPLETE", "Resource handler returned message: \"You are not authorized to perform this "
           "operation. (Service: Ec2, Status Code: 403, Request ID: 1f2e)\" (HandlerErrorCode: AccessDenied)"),
     {}),
    ("instance-type-unavailable",
     stack("ROLLBACK_COMPLETE", "Your requested instance type (t4g.small) is not supported in your requested "
           "Availability Zone (us-east-1e). Please retry your request by not specifying an Availability Zone or "
           "choosing us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1f.",
           logical_id="Instance", rtype="AWS::EC2::Instance"),
     {"instance_type": "t4g.small", "availability_zone": "us-east-1e"}),
    ("instance-type-unavailable",
     stack("ROLLBACK_COMPLETE", "We currently do not have sufficient t4g.micro capacity in the Availability Zone "
           "you requested (us-east-1a).", logical_id="Instance", rtype="AWS::EC2::Instance"),
     {"instance_type": "t4g.micro"}),
    ("stack-name-exists",
     caught("ClientError", client_error("AlreadyExistsException", "Stack [hm-shop-1a2b] already exists",
                                        "CreateChangeSet")),
     {"name": "hm-shop-1a2b"}),
    ("stack-name-exists",
     stack("ROLLBACK_COMPLETE", "hm-shop-1a2b-logs already exists in stack arn:aws:cloudformation:us-east-1:"
           "123456789012:stack/hm-shop-old/1", logical_id="LogGroup", rtype="AWS::Logs::LogGroup"),
     {"name": "hm-shop-1a2b-logs"}),
    ("stack-rollback-failed",
     stack("UPDATE_ROLLBACK_FAILED", "Resource handler returned message: \"Security group sg-0a1 is in use\"",
           logical_id="AppSecurityGroup", rtype="AWS::EC2::SecurityGroup"),
     {"status": "UPDATE_ROLLBACK_FAILED"}),
    ("stack-rollback-failed",
     stack("DELETE_FAILED", "The vpc 'vpc-0b2' has dependencies and cannot be deleted.", stage="destroy"),
     {"status": "DELETE_FAILED"}),
    # --- SSM -----------------------------------------------------------------------------------
    ("ssm-not-registered",
     ErrorEntry(deployment_id="shop-1a2b", stage="deploy", type="CommandFailed",
                message="instances of hm-shop-1a2b-Asg-1 did not register with SSM (0/1 online after 90 polls)",
                context={"instances": ["i-0abc"], "online": [], "signature": "ssm_not_registered"},
                remediation="r"),
     {"online": "0/1"}),
    ("command-timed-out",
     command("[hivemind] installing dependencies with pip\nCollecting flask\n", "command_timed_out",
             type_="CommandTimeout", status="TimedOut"),
     {}),
    ("command-timed-out",
     ErrorEntry(deployment_id="shop-1a2b", stage="deploy", type="CommandTimeout",
                message="deploy command c-1 still running after 90 polls (bound 90)",
                context={"command_id": "c-1", "output_tail": ["[hivemind] running the release command"],
                         "signature": "command_timed_out"}, remediation="r"),
     {"polls": "90", "bound": "90"}),
    # --- control plane -------------------------------------------------------------------------
    ("throttled", caught("TransientError", "AWS throttled or failed transiently: " + client_error(
        "Throttling", "Rate exceeded", "DescribeStacks"), hivemind=True), {"code": "Throttling"}),
    ("throttled", caught("Lambda.TooManyRequestsException", "Rate Exceeded."), {}),
    ("throttled", stack("ROLLBACK_COMPLETE", "Rate exceeded (Service: AmazonEC2; Status Code: 400; Error Code: "
                        "RequestLimitExceeded)"), {"code": "RequestLimitExceeded"}),
    ("task-timed-out", caught("Sandbox.Timedout", "Task timed out after 900.00 seconds", stage="analyze"),
     {"seconds": "900.00"}),
    ("task-timed-out", caught("States.Timeout", "", stage="deploy"), {}),
    ("task-crashed", caught("KeyError", "'options'", stage="validate"), {}),
    ("task-crashed", caught("Runtime.ImportModuleError", "Unable to import module 'hivemind.handlers.plan': "
                            "No module named 'hivemind'", stage="plan"), {}),
    ("task-crashed", caught("RuntimeError", "harden task crashed after sending its command", stage="harden"), {}),
    ("task-crashed", caught("Lambda.Unknown", "Traceback (most recent call last):\n  File \"/var/task/x.py\", "
                            "line 3\nAttributeError: 'NoneType' object has no attribute 'plan'", stage="deploy"),
     {"exception": "AttributeError: 'NoneType' object has no attribute 'plan'"}),
    ("execution-interrupted",
     caught("ExecutionInterrupted", "the execution stopped at stage deploy: the control plane went away",
            stage="deploy", hivemind=True),
     {"stage": "deploy"}),
    # --- analysis and plan ---------------------------------------------------------------------
    ("repository-unreachable",
     caught("RepositoryNotFound", "cannot clone https://github.com/acme/nope: fatal: repository "
            "'https://github.com/acme/nope/' not found", stage="analyze", hivemind=True),
     {"repository": "https://github.com/acme/nope/"}),
    ("repository-unreachable", caught("RefNotFound", "ref 'v9' not found in the repository", stage="analyze",
                                      hivemind=True), {"ref": "v9"}),
    ("unsupported-stack", caught("UnsupportedStack", "no package.json, requirements.txt, pyproject.toml or go.mod "
                                 "found", stage="analyze", hivemind=True), {}),
    ("budget-exceeded",
     caught("BudgetExceeded", "estimated cost $31.42/month in us-east-1 is above the budget $1.00/month (over by "
            "$30.42); biggest line: LoadBalancer (ALB, 730 h) $16.43/month", stage="plan", hivemind=True),
     {"monthly_usd": "31.42", "budget_usd": "1.00"}),
    ("invalid-input", caught("InvalidRepositoryUrl", "'ftp://x' is not a repository URL", stage="validate",
                             hivemind=True), {}),
    ("invalid-input", caught("InvalidInput", "--preset must be one of stage-1, production (got 'huge')",
                             stage="validate", hivemind=True), {}),
    ("invalid-input", command(script("invalid_argument", "--port is not valid: expected a TCP port number "
                                     "1-65535 (got '0')")), {}),
    # --- the remaining kinds of the install and stop scripts -----------------------------------
    ("fetch-failed", command(script("fetch_failed", "could not download s3://hm-artifacts/releases/shop/r-1.tar.gz "
                                    "(check the instance role can s3:GetObject it)",
                                    "fatal error: An error occurred (403) when calling the HeadObject operation: "
                                    "Forbidden")), {}),
    ("secret-failed", command(script("secret_failed", "could not read the database secret (check the instance role "
                                     "may secretsmanager:GetSecretValue it)")), {}),
    ("release-command-failed",
     command(script("release_command_failed", "the release command failed: python manage.py migrate",
                    "django.db.utils.ProgrammingError: relation \"shop_item\" already exists")),
     {"command": "python manage.py migrate"}),
    ("start-failed", command(script("start_failed", "node is not installed on this instance")), {}),
    ("stop-failed", command(script("stop_failed", "the app is still running after SIGKILL"), stage="destroy"), {}),
    ("hardening-failed",
     command(script("hardening_failed", "2 findings could not be fixed"), type_="HardeningFailed", stage="harden"),
     {}),
    ("manifest-invalid", caught("ManifestError", "package.json is not valid JSON: Expecting ',' delimiter: line 5",
                                stage="analyze", hivemind=True), {"file": "package.json"}),
    ("repository-too-large", caught("RepositoryTooLarge", "the repository is 812 MB, larger than 200 MB",
                                    stage="analyze", hivemind=True), {}),
]

# (what it is, the error, the rule it must NOT be diagnosed as, the rule it must be instead or None = any)
NEAR_MISSES: list[tuple[str, ErrorEntry, str, str | None]] = [
    ("a normal rollback is not a stuck stack",
     stack("ROLLBACK_COMPLETE", "Resource handler returned message: \"Invalid request provided\""),
     "stack-rollback-failed", "unknown"),
    ("UPDATE_ROLLBACK_COMPLETE is not UPDATE_ROLLBACK_FAILED",
     stack("UPDATE_ROLLBACK_COMPLETE", "Resource creation cancelled"), "stack-rollback-failed", None),
    ("EC2 API throttling is not an account limit",
     stack("ROLLBACK_COMPLETE", "Request limit exceeded. (Service: Ec2; Error Code: RequestLimitExceeded)"),
     "stack-limit-exceeded", "throttled"),
    ("a MySQL 'Access denied for user' is the database, not IAM",
     command(script("app_exited", "the app exited with status 1",
                    "pymysql.err.OperationalError: (1045, \"Access denied for user 'shop'@'10.0.1.9'\")")),
     "stack-access-denied", "db-auth-failed"),
    ("a 500 from the health script is not a 404",
     command(script("health_check_failed", "http://127.0.0.12:8000/ answered HTTP 500, not 2xx/3xx, for 60s")),
     "health-404", "health-5xx"),
    ("a plain crash is not a missing module",
     command(output("install-crash-on-start.txt")), "module-not-found", "app-exited"),
    ("a missing entry file is not a missing package",
     command(script("app_exited", "the app exited with status 1",
                    "Error: Cannot find module '/opt/hivemind/shop/releases/r-1/server.js'\n"
                    "    at Module._resolveFilename (node:internal/modules/cjs/loader:1207:15)")),
     "module-not-found", "missing-start-script"),
    ("a module missing while pip builds a package is a dependency failure",
     command(script("dependency_install_failed", "pip could not install the dependencies of r-1",
                    "ModuleNotFoundError: No module named 'setuptools'\nerror: subprocess-exited-with-error")),
     "module-not-found", "dependency-install-failed"),
    ("a refused Redis connection is not the database",
     command(script("app_exited", "the app exited with status 1",
                    "Error: connect ECONNREFUSED 127.0.0.1:6379\n    at TCPConnectWrap.afterConnect")),
     "db-connection-refused", "app-exited"),
    ("an app traceback in a failed command is not a crashed task",
     command("Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad"),
     "task-crashed", None),
    ("a health timeout alone says nothing about the bind address",
     health("health_timeout", status=None, error="timed out"), "binds-localhost", "health-timeout"),
    ("a CommandFailed is HiveMind's own error, never a crashed task",
     command("something odd happened"), "task-crashed", "unknown"),
    ("'404' in a stack event is not a health check",
     stack("ROLLBACK_COMPLETE", "Resource handler returned message: \"Not Found (Service: S3, Status Code: 404)\""),
     "health-404", "unknown"),
    ("pip lines in a provision error are not a dependency failure",
     stack("ROLLBACK_COMPLETE", "No matching distribution found for nothing"), "dependency-install-failed", None),
    ("a HiveMind error type is not a crash",
     caught("HealthCheckFailed", "deployment shop-1a2b has no URL (stack output `Url` missing)", stage="verify",
            hivemind=True), "task-crashed", None),
]


@pytest.mark.parametrize(("rule", "error", "facts"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_failure_maps_to_its_rule(rule: str, error: ErrorEntry, facts: dict) -> None:
    diagnosis = diagnose_error(error)
    assert diagnosis.rule == rule, (diagnosis.rule, diagnosis.evidence)
    assert diagnosis.remediation and diagnosis.summary
    assert 1 <= len(diagnosis.evidence) <= 5
    seen = error_lines(error)
    assert all(line in seen for line in diagnosis.evidence), "evidence must be lines of the error, not made up"
    for key, value in facts.items():
        assert diagnosis.facts.get(key) == value, diagnosis.facts
    assert diagnosis.confidence in {"signature", "pattern"}


@pytest.mark.parametrize(("what", "error", "not_rule", "instead"), NEAR_MISSES, ids=[n[0] for n in NEAR_MISSES])
def test_near_miss_is_not_that_rule(what: str, error: ErrorEntry, not_rule: str, instead: str | None) -> None:
    diagnosis = diagnose_error(error)
    assert diagnosis.rule != not_rule, what
    if instead is not None:
        assert diagnosis.rule == instead, (what, diagnosis.rule, diagnosis.evidence)


def test_every_rule_has_a_realistic_failure() -> None:
    from hivemind.logic.medic import rule_ids

    assert set(rule_ids()) == {rule for rule, _, _ in CASES}


def test_the_evidence_names_the_failing_package() -> None:
    diagnosis = diagnose_error(command(script("dependency_install_failed", "npm could not install", output("npm.txt"))))
    assert any("expresss" in line for line in diagnosis.evidence)
    assert "expresss" in diagnosis.summary


def test_wrong_port_offers_the_port_the_app_listens_on() -> None:
    diagnosis = diagnose_error(command(output("install-wrong-port.txt")))
    assert diagnosis.fixable and diagnosis.fix == diagnosis.auto_fix == {"kind": "set_port", "port": 5999}
    assert diagnosis.confidence == "signature"


@pytest.mark.parametrize(
    "text",
    [
        script("port_mismatch", "the app listens on no TCP port, not on port 8000: make it listen on $PORT"),
        script("port_mismatch", "the app listens on 0.0.0.0:22, not on port 8000: make it listen on $PORT"),
        script("port_mismatch", "the app listens on 0.0.0.0:8000, not on port 8000: make it listen on $PORT"),
    ],
    ids=["no-port-seen", "ssh-port", "same-port"],
)
def test_wrong_port_without_a_usable_port_is_not_fixable(text: str) -> None:
    diagnosis = diagnose_error(command(text))
    assert diagnosis.rule == "wrong-port"
    assert not diagnosis.fixable and diagnosis.fix is None and diagnosis.auto_fix is None


def test_only_safe_rules_are_fixable() -> None:
    from hivemind.logic.medic import catalogue

    assert {r.id for r in catalogue() if r.fixable} == {"wrong-port"}
