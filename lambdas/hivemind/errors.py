"""Error types. Each failure kind is its own class so ASL ``Retry``/``Catch`` can match it by name.

Lambda reports an unhandled exception as ``errorType`` = the class name; Step Functions matches
``ErrorEquals`` against that. Every error a user sees carries the stage it happened in, why, and
a remediation.
"""

from __future__ import annotations

from typing import Any


class HiveMindError(Exception):
    """Base class: a failure with a stage, a message and a remediation."""

    stage: str = "unknown"
    remediation: str = "See the deployment logs (`hivemind logs <id>`) for details."
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        remediation: str | None = None,
        stage: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if remediation is not None:
            self.remediation = remediation
        if stage is not None:
            self.stage = stage
        self.context: dict[str, Any] = context or {}

    @property
    def type(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "stage": self.stage,
            "message": self.message,
            "remediation": self.remediation,
            "context": self.context,
        }

    def __str__(self) -> str:
        return self.message


# --- input and repository -------------------------------------------------------------------
class InvalidInput(HiveMindError):
    stage = "validate"
    remediation = "Check the command's arguments (`hivemind --help`)."


class InvalidRepositoryUrl(InvalidInput):
    remediation = (
        "Give an https://, ssh (git@host:owner/repo), git:// URL or a path to a local directory."
    )


class RepositoryNotFound(HiveMindError):
    stage = "analyze"
    remediation = "Check the URL or path, and that the repository is reachable from here."


class RefNotFound(HiveMindError):
    stage = "analyze"
    remediation = "Check the branch, tag or commit given with --ref (`git ls-remote <repo>`)."


class EmptyRepository(HiveMindError):
    stage = "analyze"
    remediation = "Push at least one commit with the application's source."


class RepositoryTooLarge(HiveMindError):
    stage = "analyze"
    remediation = "Remove large binaries from the repository (use Git LFS or S3) or raise --max-size-mb."


class ManifestError(HiveMindError):
    """A manifest (package.json, pyproject.toml, go.mod, ...) could not be parsed."""

    stage = "analyze"
    remediation = "Fix the file named in the message; it must be valid for its tool."


class UnsupportedStack(HiveMindError):
    stage = "analyze"
    remediation = (
        "HiveMind deploys Node.js, Python and Go web apps. Add a package.json, "
        "requirements.txt/pyproject.toml or go.mod with a web entry point, or a Procfile `web:` line."
    )


# --- plan ------------------------------------------------------------------------------------
class BudgetExceeded(HiveMindError):
    stage = "plan"
    remediation = "Raise --budget, choose --preset stage-1, or drop the database."


class IllegalTransition(HiveMindError):
    stage = "state"
    remediation = "This is a bug or a concurrent change; re-read the deployment with `hivemind status`."


class ConcurrentModification(HiveMindError):
    stage = "state"
    retryable = True
    remediation = "Another writer changed the deployment; the step is retried automatically."


class DeploymentNotFound(HiveMindError):
    stage = "state"
    remediation = "List deployments with `hivemind list`."


# --- provision / deploy / harden / verify ----------------------------------------------------
class StackFailed(HiveMindError):
    stage = "provision"
    remediation = "Read the stack events in the error context; fix the cause and `hivemind retry <id>`."


class StackTimeout(StackFailed):
    remediation = "The stack did not settle within the plan's bound; check its events, then retry."


class CommandFailed(HiveMindError):
    stage = "deploy"
    remediation = "Read the command's last output lines in the error context; fix the app and redeploy."


class CommandTimeout(CommandFailed):
    remediation = "The command did not finish within the plan's bound; check the build and start logs."


class HardeningFailed(HiveMindError):
    stage = "harden"
    remediation = "Read the hardening findings in the error context."


class HealthCheckFailed(HiveMindError):
    stage = "verify"
    remediation = (
        "The app did not answer through the load balancer. Check that it listens on $PORT on all "
        "interfaces (0.0.0.0) and that its health path returns 2xx/3xx."
    )


class TransientError(HiveMindError):
    """A throttling or transient AWS error: ASL Retry blocks retry these."""

    retryable = True


class StackRecovering(TransientError):
    """A stuck stack is being recovered (rollback continued, dead create deleted): provision is retried
    with a longer backoff than a throttle gets (CloudFormation takes minutes)."""

    stage = "provision"
    remediation = "HiveMind is recovering the stack; if it stays stuck, read its events and `hivemind retry <id>`."
    remediation = "A transient AWS error; it is retried automatically."


class ExecutionInterrupted(HiveMindError):
    """The deployment's workflow execution stopped without reaching an end (its host went away)."""

    stage = "state"
    remediation = "`hivemind retry <id>` resumes at the stage it reached; `hivemind destroy <id>` removes it."
