"""Diagnosis rules (HiveMind Medic): match an error's signature and evidence to a known cause.

Each rule names what it saw (evidence lines), what to do, and whether HiveMind can fix it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hivemind.logic.failure import Diagnosis
from hivemind.models import ErrorEntry


@dataclass(frozen=True)
class Rule:
    id: str
    signature: str  # the error context's `signature`, or "" to match on text only
    pattern: str  # regex over message + output tail
    summary: str
    remediation: str


RULES: tuple[Rule, ...] = (
    Rule("dependency-install-failed", "dependency_install_failed", r"(No matching distribution|ERESOLVE|npm ERR|"
         r"go: .*(not found|unknown revision)|Could not find a version)", "installing dependencies failed",
         "Fix the failing dependency named in the evidence (version, name, private registry) and redeploy."),
    Rule("app-exited", "app_exited", r"(Traceback|Error:|panic:|exited)", "the app exited right after starting",
         "Run the start command locally with PORT set; fix the error in the evidence."),
    Rule("module-not-found", "", r"(ModuleNotFoundError|Cannot find module|No module named)",
         "a module was not found at start", "Add the missing package to the manifest or fix the import path."),
    Rule("health-check-failed", "health_check_failed", r"health", "the app did not answer its health check",
         "Make sure the app listens on $PORT on 0.0.0.0 and its health path returns 2xx."),
    Rule("health-404", "health_404", r"404", "the health path returns 404",
         "Add the health route or set the right one (hivemind reads /health, /healthz...)."),
    Rule("health-timeout", "health_timeout", r".", "the load balancer got no answer in time",
         "Check the app binds 0.0.0.0 (not 127.0.0.1) on $PORT."),
    Rule("stack-failed", "", r"(CREATE_FAILED|ROLLBACK|stack .* is)", "CloudFormation could not create the stack",
         "Read the stack event in the evidence; fix quota/permission/name conflicts and retry."),
    Rule("ssm-not-registered", "ssm_not_registered", r"register", "instances never registered with SSM",
         "Check the instance role and network path to SSM."),
    Rule("command-timed-out", "command_timed_out", r".", "the command did not finish in time",
         "Check the build is not waiting on input; raise the plan's command bound if the build is just slow."),
)


def diagnose_error(error: ErrorEntry) -> Diagnosis | None:
    signature = str(error.context.get("signature", ""))
    tail = error.context.get("output_tail") or []
    text = "\n".join([error.message, *map(str, tail)])
    for rule in RULES:
        # A signature (set by the stage that saw the failure) decides alone; text-only rules
        # match their pattern. The pattern also picks the evidence lines.
        if rule.signature and rule.signature != signature:
            continue
        if not rule.signature and not re.search(rule.pattern, text):
            continue
        evidence = [line for line in text.splitlines() if re.search(rule.pattern, line)][-5:] or [error.message]
        return Diagnosis(rule=rule.id, summary=rule.summary, evidence=evidence, remediation=rule.remediation)
    return None
