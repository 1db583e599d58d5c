"""SSM documents: shape, allowed patterns, SSM-style rendering, and rejection of shell injection.

The round-trip tests run the *rendered* document with bash (the script stops after checking its
arguments when HIVEMIND_VALIDATE_ONLY=1) and compare what the script received with what was sent.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from hivemind.errors import InvalidInput
from hivemind.scripts import documents
from hivemind.scripts.documents import (
    SCRIPT_DIR,
    harden_document,
    install_document,
    render_commands,
    render_timeout,
    resolve_parameters,
    stop_document,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DOCUMENTS = {"install": install_document, "harden": harden_document, "stop": stop_document}
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")

GOOD_INSTALL = {
    "DeploymentId": ["hm-3f9c"],
    "ReleaseId": ["r-1"],
    "ReleaseUrl": ["s3://hivemind-artifacts-123456789012-us-east-1/releases/hm-3f9c/r-1.tar.gz"],
    "Language": ["python"],
    "PackageManager": ["pip"],
    "StartCommand": ["gunicorn --bind ${HOST:-0.0.0.0}:$PORT app:app"],
    "Port": ["8000"],
    "Region": ["us-east-1"],
}

OPTION_OF = dict(documents._INSTALL_OPTIONS)
ENV_NAME_OF = {
    "DeploymentId": "DEPLOYMENT_ID",
    "ReleaseId": "RELEASE_ID",
    "ReleaseUrl": "RELEASE_URL",
    "Language": "LANGUAGE",
    "PackageManager": "PACKAGE_MANAGER",
    "AppDir": "APP_DIR",
    "BuildCommand": "BUILD_COMMAND",
    "StartCommand": "START_COMMAND",
    "ReleaseCommand": "RELEASE_COMMAND",
    "Port": "PORT",
    "HealthPath": "HEALTH_PATH",
    "DbSecretArn": "DB_SECRET_ARN",
    "Region": "REGION",
    "HealthTimeout": "HEALTH_TIMEOUT",
}

_VARIABLE = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*|\$\{[A-Za-z_][A-Za-z0-9_]*(:-[A-Za-z0-9._/-]*)?\}")
_FORBIDDEN = set(";&|<>`'\\()!*?[]#{}$\n\r\t\x00")


def shell_safe(value: str) -> bool:
    """No shell metacharacter outside the allowed set: `$` only as $NAME / ${NAME} / ${NAME:-x}."""
    rest = _VARIABLE.sub("", value)
    return not (set(rest) & _FORBIDDEN)


def run_rendered(lines: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HIVEMIND_VALIDATE_ONLY": "1", "HIVEMIND_ROOT": str(tmp_path), "TMPDIR": str(tmp_path)}
    return subprocess.run(["bash", "-c", "\n".join(lines)], env=env, capture_output=True, text=True, timeout=60)


def printed_arguments(stdout: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)


# --- shape ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", DOCUMENTS)
def test_document_shape(name: str) -> None:
    doc = DOCUMENTS[name]()
    assert doc["schemaVersion"] == "2.2"
    assert len(doc["mainSteps"]) == 1
    step = doc["mainSteps"][0]
    assert step["action"] == "aws:runShellScript"
    assert isinstance(step["inputs"]["runCommand"], list)
    assert all(isinstance(line, str) and "\n" not in line for line in step["inputs"]["runCommand"])
    # SSM's limit on a document's content is 64 KB.
    assert len(json.dumps(doc)) < 64 * 1024


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_parameter_is_typed_described_and_pattern_checked(name: str) -> None:
    for pname, spec in DOCUMENTS[name]()["parameters"].items():
        assert spec["type"] == "String", pname
        assert spec["description"], pname
        pattern = spec["allowedPattern"]
        assert pattern.startswith("^") and pattern.endswith("$"), pname
        if "default" in spec:
            assert re.fullmatch(pattern, spec["default"]), f"{pname}'s default breaks its own pattern"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_placeholders_and_parameters_match_exactly(name: str) -> None:
    doc = DOCUMENTS[name]()
    used = set(PLACEHOLDER.findall(json.dumps(doc["mainSteps"])))
    assert used == set(doc["parameters"])


@pytest.mark.parametrize("name", DOCUMENTS)
def test_placeholders_only_appear_single_quoted(name: str) -> None:
    """Values are substituted textually: each must sit inside '...' to stay one word."""
    for line in DOCUMENTS[name]()["mainSteps"][0]["inputs"]["runCommand"]:
        for match in PLACEHOLDER.finditer(line):
            assert line[match.start() - 1] == "'" and line[match.end()] == "'", line


def test_the_install_document_passes_every_option_of_the_script() -> None:
    doc = install_document()
    assert set(OPTION_OF) == set(doc["parameters"]) - {"executionTimeout"}
    script = (SCRIPT_DIR / "install-release.sh").read_text()
    for option in OPTION_OF.values():
        assert f"{option})" in script, option


def test_the_script_is_embedded_verbatim() -> None:
    lines = install_document()["mainSteps"][0]["inputs"]["runCommand"]
    start = lines.index("cat >\"$hm_script\" <<'HIVEMIND_SCRIPT_EOF'") + 1
    end = lines.index("HIVEMIND_SCRIPT_EOF")
    assert "\n".join(lines[start:end]) + "\n" == (SCRIPT_DIR / "install-release.sh").read_text()


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPT_DIR.glob("*.sh")))
def test_scripts_have_nothing_ssm_would_substitute(script: str) -> None:
    assert "{{" not in (SCRIPT_DIR / script).read_text()


# --- rendering ------------------------------------------------------------------------------
def test_render_fills_defaults_and_values() -> None:
    lines = render_commands(install_document(), GOOD_INSTALL)
    text = "\n".join(lines)
    assert "--app-dir '.'" in text
    assert "--health-timeout '60'" in text
    assert "--start-command 'gunicorn --bind ${HOST:-0.0.0.0}:$PORT app:app'" in text
    assert "{{" not in text


def test_render_timeout_uses_the_default_and_a_given_value() -> None:
    assert render_timeout(install_document(), GOOD_INSTALL) == 900
    assert render_timeout(install_document(), {**GOOD_INSTALL, "executionTimeout": ["1800"]}) == 1800


def test_resolve_parameters_returns_every_declared_parameter() -> None:
    values = resolve_parameters(install_document(), GOOD_INSTALL)
    assert set(values) == set(install_document()["parameters"])
    assert values["DbSecretArn"] == "" and values["HealthPath"] == "/"


def test_a_missing_required_parameter_is_named() -> None:
    params = {k: v for k, v in GOOD_INSTALL.items() if k != "StartCommand"}
    with pytest.raises(InvalidInput, match="StartCommand is required"):
        render_commands(install_document(), params)


def test_an_unknown_parameter_is_named() -> None:
    with pytest.raises(InvalidInput, match="unknown parameter.*Extra"):
        render_commands(install_document(), {**GOOD_INSTALL, "Extra": ["x"]})


@pytest.mark.parametrize("bad", ["8000", ["8000", "9000"], [], [8000]])
def test_a_value_must_be_a_list_of_one_string(bad) -> None:
    with pytest.raises(InvalidInput, match="Port"):
        render_commands(install_document(), {**GOOD_INSTALL, "Port": bad})


INJECTIONS = [
    "; rm -rf /",
    "gunicorn app:app; rm -rf /",
    "$(id)",
    "gunicorn $(id)",
    "`id`",
    "gunicorn app:app\nrm -rf /",
    "gunicorn app:app\rid",
    "gunicorn app:app' ; id ; '",
    "npm ci && npm run build",
    "npm start | tee log",
    "npm start > /etc/passwd",
    "npm start < /etc/shadow",
    "node server.js &",
    "echo \\$(id)",
    "echo ${PATH//x/$(id)}",
    "echo ${X:-$(id)}",
    "echo $((1+1))",
    "(id)",
    "ls *",
    "echo !!",
    "run # comment",
    "echo \x00",
]


@pytest.mark.parametrize("value", INJECTIONS, ids=repr)
@pytest.mark.parametrize("param", ["StartCommand", "BuildCommand", "ReleaseCommand"])
def test_commands_reject_injection(param: str, value: str) -> None:
    with pytest.raises(InvalidInput, match=param) as info:
        render_commands(install_document(), {**GOOD_INSTALL, param: [value]})
    assert info.value.context == {"parameter": param}


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("DeploymentId", "hm-1; id"),
        ("DeploymentId", "HM-1"),
        ("DeploymentId", "-leading"),
        ("DeploymentId", "a" * 41),
        ("DeploymentId", "hm-1\n"),
        ("ReleaseId", "r-1'"),
        ("ReleaseId", "1"),
        ("ReleaseUrl", "s3://bucket/key.tar.gz'; id; '"),
        ("ReleaseUrl", "s3://bucket/../etc/passwd.tar.gz"),
        ("ReleaseUrl", "http://example.com/r.tar.gz"),
        ("ReleaseUrl", "file://relative/r.tar.gz"),
        ("ReleaseUrl", "s3://bucket/$(id).tar.gz"),
        ("Language", "ruby"),
        ("PackageManager", "pip; id"),
        ("AppDir", "../outside"),
        ("AppDir", "a/../../b"),
        ("AppDir", "/abs"),
        ("AppDir", ".."),
        ("Port", "0"),
        ("Port", "65536"),
        ("Port", "80 81"),
        ("Port", "-1"),
        ("HealthPath", "health"),
        ("HealthPath", "/h?x=$(id)"),
        ("HealthPath", "/h'"),
        ("DbSecretArn", "arn:aws:secretsmanager:us-east-1:123:secret:x"),
        ("DbSecretArn", "arn:aws:s3:::bucket"),
        ("Region", "us-east-1; id"),
        ("HealthTimeout", "0"),
        ("HealthTimeout", "10s"),
        ("executionTimeout", "1"),
    ],
    ids=repr,
)
def test_other_parameters_reject_bad_values(param: str, value: str) -> None:
    with pytest.raises(InvalidInput, match=param):
        render_commands(install_document(), {**GOOD_INSTALL, param: [value]})


@pytest.mark.parametrize(
    ("doc", "params"),
    [
        (stop_document, {"DeploymentId": ["x'; id; '"]}),
        (stop_document, {"DeploymentId": ["hm-1"], "Purge": ["yes"]}),
        (harden_document, {"DeploymentId": ["$(id)"]}),
        (harden_document, {"CheckOnly": ["true; id"]}),
    ],
)
def test_stop_and_harden_reject_bad_values(doc, params) -> None:
    with pytest.raises(InvalidInput):
        render_commands(doc(), params)


def test_a_command_longer_than_max_chars_is_refused() -> None:
    with pytest.raises(InvalidInput, match="longer than 1000"):
        render_commands(install_document(), {**GOOD_INSTALL, "StartCommand": ["x" * 1001]})


def test_an_undeclared_placeholder_is_an_error() -> None:
    doc = stop_document()
    doc["mainSteps"][0]["inputs"]["runCommand"].append("echo '{{ Nope }}'")
    with pytest.raises(InvalidInput, match="Nope"):
        render_commands(doc, {"DeploymentId": ["hm-1"]})


# --- properties -----------------------------------------------------------------------------
ALL_PATTERNS = sorted(
    {spec["allowedPattern"] for make in DOCUMENTS.values() for spec in make()["parameters"].values()}
)


@pytest.mark.parametrize("pattern", ALL_PATTERNS)
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_value_a_pattern_accepts_holds_a_shell_metacharacter(pattern: str, data) -> None:
    value = data.draw(st.from_regex(pattern, fullmatch=True))
    assert shell_safe(value), value


METACHAR_TEXT = st.text(alphabet=st.sampled_from(list("ab1 -_./:$'\"`;&|<>(){}[]\\!*?#\n\r\t=%~,@+")), max_size=30)


@pytest.mark.parametrize("param", ["StartCommand", "BuildCommand", "ReleaseCommand", "HealthPath", "AppDir"])
@settings(max_examples=300)
@given(value=METACHAR_TEXT)
def test_whatever_render_accepts_is_shell_safe(param: str, value: str) -> None:
    try:
        render_commands(install_document(), {**GOOD_INSTALL, param: [value]})
    except InvalidInput:
        return
    assert shell_safe(value), value


# --- round trip through bash ------------------------------------------------------------------
def test_rendered_install_document_delivers_tricky_values_verbatim(tmp_path: Path) -> None:
    params = {
        **GOOD_INSTALL,
        "StartCommand": ['uvicorn service:api --host "$HOST" --port ${PORT:-8000} --log-level=info,x@y+z%~'],
        "BuildCommand": ["go build -o ./bin/app ./cmd/web"],
        "ReleaseCommand": ["python manage.py migrate --noinput"],
        "AppDir": ["services/web"],
        "DbSecretArn": ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:hm/db-AbC123"],
        "HealthPath": ["/api/health"],
    }
    result = run_rendered(render_commands(install_document(), params), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    got = printed_arguments(result.stdout)
    for name, values in params.items():
        assert got[ENV_NAME_OF[name]] == values[0], name
    assert not list(tmp_path.glob("hivemind-*")), "the temporary script was not removed"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.from_regex(documents.COMMAND_PATTERN, fullmatch=True).filter(lambda c: len(c) <= 200))
def test_any_allowed_command_reaches_the_script_unchanged(command: str, tmp_path: Path) -> None:
    result = run_rendered(render_commands(install_document(), {**GOOD_INSTALL, "StartCommand": [command]}), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert printed_arguments(result.stdout)["START_COMMAND"] == command


# --- the script's own checks agree with the patterns (user data calls it without SSM) --------
SCRIPT_TABLE = [
    ("DeploymentId", "hm-1", True),
    ("DeploymentId", "HM-1", False),
    ("DeploymentId", "a" * 41, False),
    ("ReleaseId", "r-12", True),
    ("ReleaseId", "r-x", False),
    ("ReleaseUrl", "file:///tmp/x/r-1.tar.gz", True),
    ("ReleaseUrl", "file:///tmp/../r-1.tar.gz", False),
    ("AppDir", "apps/web", True),
    ("AppDir", "../web", False),
    ("StartCommand", "node server.js", True),
    ("StartCommand", "node server.js; id", False),
    ("StartCommand", "node $(id)", False),
    ("StartCommand", "node `id`", False),
    ("StartCommand", "a && b", False),
    ("StartCommand", "gunicorn -b ${HOST:-0.0.0.0}:${PORT} app:app", True),
    ("Port", "65535", True),
    ("Port", "65536", False),
    ("Port", "0", False),
    ("HealthPath", "/healthz", True),
    ("HealthPath", "healthz", False),
    ("DbSecretArn", "", True),
    ("DbSecretArn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-x1", True),
    ("DbSecretArn", "arn:aws:secretsmanager:us-east-1:1:secret:db", False),
    ("Region", "ap-southeast-2", True),
    ("Region", "mars", False),
    ("HealthTimeout", "120", True),
    ("HealthTimeout", "0", False),
]


@pytest.mark.parametrize(("param", "value", "accepted"), SCRIPT_TABLE, ids=repr)
def test_script_and_document_agree(param: str, value: str, accepted: bool, tmp_path: Path) -> None:
    try:
        render_commands(install_document(), {**GOOD_INSTALL, param: [value]})
        rendered_ok = True
    except InvalidInput:
        rendered_ok = False
    args = {OPTION_OF[k]: v[0] for k, v in GOOD_INSTALL.items()}
    args[OPTION_OF[param]] = value
    argv = ["bash", str(SCRIPT_DIR / "install-release.sh"), "--validate-only"]
    for option, v in args.items():
        argv += [option, v]
    result = subprocess.run(argv, env={**os.environ, "HIVEMIND_ROOT": str(tmp_path)}, capture_output=True,
                            text=True, timeout=60)
    assert rendered_ok is accepted
    assert (result.returncode == 0) is accepted, result.stdout
    if not accepted:
        assert result.returncode == 2
        assert result.stdout.strip().splitlines()[-1].startswith(f"HIVEMIND_ERROR invalid_argument: {OPTION_OF[param]} ")


@pytest.mark.parametrize("payload", ["x; touch {p}", "x $(touch {p})", "x `touch {p}`", "x\ntouch {p}"])
def test_the_script_itself_refuses_injection_and_runs_nothing(payload: str, tmp_path: Path) -> None:
    witness = tmp_path / "pwned"
    argv = ["bash", str(SCRIPT_DIR / "install-release.sh")]
    for k, v in GOOD_INSTALL.items():
        argv += [OPTION_OF[k], v[0]]
    argv += ["--start-command", payload.format(p=witness)]
    result = subprocess.run(argv, env={**os.environ, "HIVEMIND_ROOT": str(tmp_path / "root")},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "HIVEMIND_ERROR invalid_argument: --start-command" in result.stdout
    assert not witness.exists()
    assert not (tmp_path / "root").exists(), "nothing may be written before the arguments are checked"


def test_the_script_refuses_an_unsafe_root(tmp_path: Path) -> None:
    argv = ["bash", str(SCRIPT_DIR / "install-release.sh"), "--validate-only"]
    for k, v in GOOD_INSTALL.items():
        argv += [OPTION_OF[k], v[0]]
    for root in ("relative/dir", "/tmp/../etc", "/tmp/a b"):
        result = subprocess.run(argv, env={**os.environ, "HIVEMIND_ROOT": root}, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 2, root
        assert "HIVEMIND_ROOT" in result.stdout


@pytest.mark.parametrize(
    ("doc", "params", "expected_args"),
    [
        (stop_document, {"DeploymentId": ["hm-1"]}, ["--deployment-id", "hm-1"]),
        (stop_document, {"DeploymentId": ["hm-1"], "Purge": ["true"]}, ["--deployment-id", "hm-1", "--purge"]),
        (harden_document, {}, []),
        (harden_document, {"DeploymentId": ["hm-1"], "CheckOnly": ["true"]},
         ["--deployment-id", "hm-1", "--check-only"]),
    ],
)
def test_stop_and_harden_pass_their_options(doc, params, expected_args, tmp_path: Path) -> None:
    """Swap the embedded script for one that prints its arguments; the invocation lines are real."""
    lines = render_commands(doc(), params)
    start = lines.index("cat >\"$hm_script\" <<'HIVEMIND_SCRIPT_EOF'") + 1
    end = lines.index("HIVEMIND_SCRIPT_EOF")
    lines[start:end] = ['for arg in "$@"; do printf "%s\\n" "$arg"; done']
    result = subprocess.run(["bash", "-c", "\n".join(lines)], env={**os.environ, "TMPDIR": str(tmp_path)},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == expected_args


def test_error_kinds_match_the_script() -> None:
    script = (SCRIPT_DIR / "install-release.sh").read_text()
    for kind, code in documents.ERROR_KINDS.items():
        if kind in ("stop_failed", "hardening_failed"):
            continue
        assert f"{kind}) code={code} ;;" in script, kind
