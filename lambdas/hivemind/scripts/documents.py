"""The SSM Command documents that run HiveMind's on-instance scripts, and SSM-style rendering.

Each document (schemaVersion 2.2, one ``aws:runShellScript`` step) carries its script inline: the
step writes the ``.sh`` file beside this module to a temporary file through a quoted heredoc and
runs it with bash, passing every parameter as a single-quoted argument. SSM substitutes
``{{ Name }}`` textually, so safety rests on each parameter's ``allowedPattern``: no pattern admits
a single quote, a newline or a backslash, so no value can leave its quotes. The script validates
every value again (it also runs from user data, without SSM).

Free-text commands (build, start, release) accept one command line: letters, digits, spaces and
``_ . / : = , @ + % ~ " -``, plus ``$NAME``, ``${NAME}`` and ``${NAME:-default}`` (so a Procfile line
such as ``gunicorn --bind ${HOST:-0.0.0.0}:$PORT app:app`` passes). Not allowed: ``; & | < >``,
backticks, ``$(``, ``'``, ``\\``, parentheses, globs and newlines. The script installs the
dependencies itself, so a build command is only the build (``npm run build``), never
``npm ci && npm run build``. The commands run through ``bash -c`` in the app directory as the
app's user, never evaluated inside the script.

:func:`render_commands` does what SSM does with a document's ``runCommand`` (defaults, allowed
patterns, substitution) so the local cloud's agent runs exactly what an instance would.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hivemind.errors import InvalidInput

SCRIPT_DIR = Path(__file__).resolve().parent

INSTALL_SCRIPT = "install-release.sh"
HARDEN_SCRIPT = "harden.sh"
STOP_SCRIPT = "stop-app.sh"

# The HIVEMIND_ERROR kinds install-release.sh prints, with its exit code for each.
ERROR_KINDS: dict[str, int] = {
    "invalid_argument": 2,
    "fetch_failed": 10,
    "dependency_install_failed": 11,
    "build_failed": 12,
    "secret_failed": 13,
    "release_command_failed": 14,
    "start_failed": 15,
    "app_exited": 16,
    "port_in_use": 17,
    "port_mismatch": 18,
    "bind_mismatch": 19,
    "health_check_failed": 20,
    "stop_failed": 21,
    "hardening_failed": 22,
}

# --- allowed patterns (SSM enforces them on AWS; render_commands here) -----------------------
_CMD_ATOM = (
    r'[A-Za-z0-9 _./:=,@+%~"-]'
    r"|\$[A-Za-z_][A-Za-z0-9_]*"
    r"|\$\{[A-Za-z_][A-Za-z0-9_]*(:-[A-Za-z0-9._/-]*)?\}"
)
COMMAND_PATTERN = rf"^({_CMD_ATOM})+$"
OPTIONAL_COMMAND_PATTERN = rf"^({_CMD_ATOM})*$"
DEPLOYMENT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"
OPTIONAL_DEPLOYMENT_ID_PATTERN = r"^([a-z0-9][a-z0-9-]{0,39})?$"
RELEASE_ID_PATTERN = r"^r-[0-9]{1,9}$"
RELEASE_URL_PATTERN = (
    r"^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]|file://)"
    r"(/[A-Za-z0-9_+=@,-][A-Za-z0-9._+=@,-]*)+\.(tar\.gz|tgz)$"
)
LANGUAGE_PATTERN = r"^(python|node|go)$"
PACKAGE_MANAGER_PATTERN = r"^(pip|poetry|pipenv|uv|pdm|npm|yarn|pnpm|bun|go)$"
APP_DIR_PATTERN = r"^(\.|[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*)$"
PORT_PATTERN = r"^([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$"
HEALTH_PATH_PATTERN = r"^/[A-Za-z0-9/._~%-]{0,200}$"
SECRET_ARN_PATTERN = r"^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]{1,512})?$"
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$"
HEALTH_TIMEOUT_PATTERN = r"^[1-9][0-9]{0,3}$"
EXECUTION_TIMEOUT_PATTERN = r"^[1-9][0-9]{1,4}$"
BOOLEAN_PATTERN = r"^(true|false)$"

COMMAND_MAX_CHARS = 1000
_HEREDOC_END = "HIVEMIND_SCRIPT_EOF"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _read_script(name: str) -> str:
    """Read a script once, at import, and refuse one that could not be embedded safely."""
    text = (SCRIPT_DIR / name).read_text(encoding="utf-8")
    if "{{" in text or any(line.strip() == _HEREDOC_END for line in text.splitlines()):
        raise RuntimeError(f"{name} contains '{{{{' or the heredoc terminator; it cannot be embedded")
    return text


SCRIPTS: dict[str, str] = {name: _read_script(name) for name in (INSTALL_SCRIPT, HARDEN_SCRIPT, STOP_SCRIPT)}


def _param(description: str, pattern: str, default: str | None = None, max_chars: int | None = None) -> dict:
    param: dict[str, Any] = {"type": "String", "description": description, "allowedPattern": pattern}
    if default is not None:
        param["default"] = default
    if max_chars is not None:
        param["maxChars"] = max_chars
    return param


def _execution_timeout() -> dict:
    return _param("Seconds the step may run before SSM stops it.", EXECUTION_TIMEOUT_PATTERN, "900")


def _script_lines(name: str, invocation: list[str]) -> list[str]:
    """runCommand lines: write the script to a temp file via a quoted heredoc, then run it.

    POSIX sh only (SSM may run the step with /bin/sh); the heredoc's quoted terminator keeps
    the shell from expanding anything inside the script text.
    """
    stem = name.removesuffix(".sh")
    return [
        f"# HiveMind: run {name} (embedded below) with this document's parameters.",
        "set -eu",
        f'hm_script="$(mktemp "${{TMPDIR:-/tmp}}/hivemind-{stem}.XXXXXXXX")"',
        "trap 'rm -f \"$hm_script\"' EXIT",
        f"cat >\"$hm_script\" <<'{_HEREDOC_END}'",
        *SCRIPTS[name].splitlines(),
        _HEREDOC_END,
        *invocation,
    ]


def _document(description: str, step: str, parameters: dict, run_command: list[str]) -> dict:
    return {
        "schemaVersion": "2.2",
        "description": description,
        "parameters": {**parameters, "executionTimeout": _execution_timeout()},
        "mainSteps": [
            {
                "action": "aws:runShellScript",
                "name": step,
                "precondition": {"StringEquals": ["platformType", "Linux"]},
                "inputs": {"timeoutSeconds": "{{ executionTimeout }}", "runCommand": run_command},
            }
        ],
    }


# (parameter name, option of install-release.sh)
_INSTALL_OPTIONS: tuple[tuple[str, str], ...] = (
    ("DeploymentId", "--deployment-id"),
    ("ReleaseId", "--release-id"),
    ("ReleaseUrl", "--release-url"),
    ("Language", "--language"),
    ("PackageManager", "--package-manager"),
    ("AppDir", "--app-dir"),
    ("BuildCommand", "--build-command"),
    ("StartCommand", "--start-command"),
    ("ReleaseCommand", "--release-command"),
    ("Port", "--port"),
    ("HealthPath", "--health-path"),
    ("DbSecretArn", "--db-secret-arn"),
    ("Region", "--region"),
    ("HealthTimeout", "--health-timeout"),
)


def install_document() -> dict:
    """hivemind-install-release: fetch, build, configure, (re)start and check one release."""
    cmd_note = "One command line; see the document description for the allowed characters."
    parameters = {
        "DeploymentId": _param("The deployment's id (lowercase letters, digits, '-').", DEPLOYMENT_ID_PATTERN),
        "ReleaseId": _param("The release to install, r-<number>.", RELEASE_ID_PATTERN),
        "ReleaseUrl": _param("Where the release tarball is: s3://bucket/key.tar.gz (file:// in tests).",
                             RELEASE_URL_PATTERN),
        "Language": _param("python, node or go.", LANGUAGE_PATTERN),
        "PackageManager": _param("The package manager that installs the dependencies.", PACKAGE_MANAGER_PATTERN),
        "AppDir": _param("The app's directory inside the release (relative, no '..').", APP_DIR_PATTERN, "."),
        "BuildCommand": _param(f"Build step after the dependency install (may be empty). {cmd_note}",
                               OPTIONAL_COMMAND_PATTERN, "", COMMAND_MAX_CHARS),
        "StartCommand": _param(f"The command that starts the web process. {cmd_note}",
                               COMMAND_PATTERN, None, COMMAND_MAX_CHARS),
        "ReleaseCommand": _param(f"Runs before the start on every deploy, e.g. migrations (may be empty). {cmd_note}",
                                 OPTIONAL_COMMAND_PATTERN, "", COMMAND_MAX_CHARS),
        "Port": _param("The TCP port the app must listen on ($PORT).", PORT_PATTERN),
        "HealthPath": _param("The path the local health check requests.", HEALTH_PATH_PATTERN, "/"),
        "DbSecretArn": _param("Secrets Manager secret with the database credentials (may be empty).",
                              SECRET_ARN_PATTERN, ""),
        "Region": _param("The AWS region of the release bucket and the secret.", REGION_PATTERN),
        "HealthTimeout": _param("Seconds the local health check waits for a 2xx/3xx.", HEALTH_TIMEOUT_PATTERN, "60"),
    }
    invocation = ['bash "$hm_script" \\']
    for index, (name, option) in enumerate(_INSTALL_OPTIONS):
        tail = "" if index == len(_INSTALL_OPTIONS) - 1 else " \\"
        invocation.append(f"  {option} '{{{{ {name} }}}}'{tail}")
    return _document(
        "HiveMind: install a release of an app (fetch, build, env file, start, local health check). "
        "Prints HIVEMIND_OK or HIVEMIND_ERROR <kind>: <message> as its last line.",
        "installRelease",
        parameters,
        _script_lines(INSTALL_SCRIPT, invocation),
    )


def harden_document() -> dict:
    """hivemind-harden: OS hardening and checks; prints one FINDING line per check."""
    parameters = {
        "DeploymentId": _param("Also check this deployment's files (may be empty).",
                               OPTIONAL_DEPLOYMENT_ID_PATTERN, ""),
        "CheckOnly": _param("true: report only, change nothing.", BOOLEAN_PATTERN, "false"),
    }
    invocation = [
        "set --",
        "if [ -n '{{ DeploymentId }}' ]; then set -- --deployment-id '{{ DeploymentId }}'; fi",
        "if [ '{{ CheckOnly }}' = true ]; then set -- \"$@\" --check-only; fi",
        'bash "$hm_script" "$@"',
    ]
    return _document(
        "HiveMind: harden the instance (no sshd, sysctl, file modes, IMDSv2) and report "
        "FINDING <id> <PASS|FAIL|SKIP> <message> lines.",
        "harden",
        parameters,
        _script_lines(HARDEN_SCRIPT, invocation),
    )


def stop_document() -> dict:
    """hivemind-stop-app: stop a deployment's app on the instance (and purge its files)."""
    parameters = {
        "DeploymentId": _param("The deployment whose app to stop.", DEPLOYMENT_ID_PATTERN),
        "Purge": _param("true: also remove the app's releases, env file and logs.", BOOLEAN_PATTERN, "false"),
    }
    invocation = [
        "set --",
        "if [ '{{ Purge }}' = true ]; then set -- --purge; fi",
        "bash \"$hm_script\" --deployment-id '{{ DeploymentId }}' \"$@\"",
    ]
    return _document(
        "HiveMind: stop the app of a deployment on this instance.",
        "stopApp",
        parameters,
        _script_lines(STOP_SCRIPT, invocation),
    )


# --- SSM-style rendering ---------------------------------------------------------------------
def _single_value(name: str, values: Any) -> str:
    if isinstance(values, str) or not isinstance(values, list | tuple) or len(values) != 1:
        raise InvalidInput(
            f"parameter {name} must be a list holding one string (as SSM's SendCommand takes it)",
            remediation=f"Pass {name} as [\"value\"].",
            context={"parameter": name},
        )
    value = values[0]
    if not isinstance(value, str):
        raise InvalidInput(f"parameter {name} must be a string, not {type(value).__name__}",
                           context={"parameter": name})
    return value


def _check_value(name: str, spec: dict, value: str) -> None:
    shown = value if len(value) <= 80 else value[:77] + "..."
    remediation = f"{spec.get('description', '')} It must match {spec['allowedPattern']}".strip()
    if _CONTROL.search(value):
        raise InvalidInput(f"parameter {name} contains a control character (newline, tab, NUL...): {shown!r}",
                           remediation=remediation, context={"parameter": name})
    if "maxChars" in spec and len(value) > int(spec["maxChars"]):
        raise InvalidInput(f"parameter {name} is longer than {spec['maxChars']} characters",
                           remediation=remediation, context={"parameter": name})
    if not re.fullmatch(spec["allowedPattern"], value):
        raise InvalidInput(f"parameter {name} has a value that is not allowed: {shown!r}",
                           remediation=remediation, context={"parameter": name})


def resolve_parameters(document: dict, parameters: dict[str, list[str]]) -> dict[str, str]:
    """Every declared parameter's value, from ``parameters`` or its default, checked like SSM does.

    Raises InvalidInput naming the parameter for an unknown name, a missing value, a value that
    is not one string, or one that does not match its allowedPattern / maxChars.
    """
    declared: dict[str, dict] = document.get("parameters", {})
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise InvalidInput(
            f"unknown parameter(s) {', '.join(unknown)}; this document takes {', '.join(sorted(declared))}",
            context={"parameters": unknown},
        )
    resolved: dict[str, str] = {}
    for name, spec in declared.items():
        if name in parameters:
            value = _single_value(name, parameters[name])
        elif "default" in spec:
            value = str(spec["default"])
        else:
            raise InvalidInput(f"parameter {name} is required: {spec.get('description', '')}".strip(),
                               context={"parameter": name})
        _check_value(name, spec, value)
        resolved[name] = value
    return resolved


def _substitute(text: str, values: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise InvalidInput(f"the document uses {{{{ {name} }}}} but declares no parameter {name}",
                               context={"parameter": name})
        return values[name]

    return _PLACEHOLDER.sub(replace, text)


def render_commands(document: dict, parameters: dict[str, list[str]]) -> list[str]:
    """The runCommand lines of the document's first step with ``{{ Name }}`` substituted as SSM does."""
    values = resolve_parameters(document, parameters)
    step = document["mainSteps"][0]
    return [_substitute(line, values) for line in step["inputs"]["runCommand"]]


def render_timeout(document: dict, parameters: dict[str, list[str]]) -> int:
    """The step's timeoutSeconds after substitution (the agent bounds the run by it)."""
    values = resolve_parameters(document, parameters)
    step = document["mainSteps"][0]
    return int(_substitute(str(step["inputs"].get("timeoutSeconds", "3600")), values))
